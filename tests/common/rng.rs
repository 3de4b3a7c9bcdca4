//! The one random generator of the tests: a deterministic LCG (Knuth's MMIX
//! constants), so a failing seed replays exactly.

#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// A generator whose state is `seed` as given.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// A generator from a small seed (0, 1, 2…), mixed first so nearby
    /// seeds do not start alike.
    pub fn mixed(seed: u64) -> Rng {
        let mut r = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
        r.next();
        r
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A number below `n` (`n` > 0).
    pub fn below_u64(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'x, T>(&mut self, v: &'x [T]) -> &'x T {
        &v[self.below(v.len())]
    }

    /// Fisher–Yates, in place.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }

    /// A shuffled copy of `v`.
    pub fn shuffled<T: Clone>(&mut self, v: &[T]) -> Vec<T> {
        let mut out = v.to_vec();
        self.shuffle(&mut out);
        out
    }
}
