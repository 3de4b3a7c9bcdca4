//! The machine-local project home (SPEC §1): `$BD_HOME/projects/<escaped
//! identity>/`, shared by every workspace of a project on this machine. It
//! holds live state only (locks now; registry, presence, ledger later);
//! nothing durable lives only here.

pub mod deliveries;
pub mod gates;
pub mod ledger;
pub mod machine;
pub mod mailbox;
pub mod presence;
pub mod registry;
pub mod relay;
pub mod remote;
pub mod reservations;
pub mod workers;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::files::lock::{self, LockGuard};
use crate::files::{escape, unescape};

/// The longest folder name most file systems allow (bytes).
const NAME_MAX: usize = 255;

/// Refuse an identity whose home folder name could not exist: its escaped
/// form is longer than a file name may be.
pub fn check_identity(identity: &str) -> Result<()> {
    let len = escape(identity).len();
    if len > NAME_MAX {
        return Err(Error::Invalid {
            msg: format!(
                "project '{}…' cannot have a home on this machine: its name is {len} bytes once escaped, at most {NAME_MAX}",
                identity.chars().take(40).collect::<String>()
            ),
            hint: Some(
                "check the address; upper-case and non-ASCII letters count three bytes each".into(),
            ),
        });
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct ProjectHome {
    pub dir: PathBuf,
}

impl ProjectHome {
    /// The home of a project under `base` (the machine's `BD_HOME`; none
    /// when the environment names no place), created when missing.
    pub fn open(base: Option<&Path>, identity: &str) -> Result<ProjectHome> {
        let base = base.ok_or_else(|| Error::Invalid {
            msg: "no place for the project home: HOME is not set".into(),
            hint: Some("set BD_HOME to a writable folder".into()),
        })?;
        check_identity(identity)?;
        let dir = base.join("projects").join(escape(identity));
        // `$BD_HOME` may be a link; `projects/` and below may not.
        crate::files::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(ProjectHome { dir })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// An exclusive lock on `<home>/<name>.lock` with the usual bounded wait.
    pub fn lock(&self, name: &str) -> Result<LockGuard> {
        lock::acquire(
            &self.dir.join(format!("{name}.lock")),
            lock::default_timeout(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_injective_and_safe() {
        assert_eq!(escape("Dave"), "%44ave");
        assert_eq!(escape("dave"), "dave");
        assert_ne!(escape("Dave"), escape("dave"));
        assert_eq!(escape("../x"), "..%2Fx");
        assert_eq!(escape(".."), "%2E%2E");
        assert_eq!(escape("github.com/Org/Repo"), "github.com%2F%4Frg%2F%52epo");
        assert!(!escape("a/b\\c").contains('/'));
        for n in ["Dave", "github.com/Org/Repo", "..", "é/x"] {
            assert_eq!(unescape(&escape(n)).as_deref(), Some(n));
        }
        assert_eq!(unescape("Dave"), None);
        assert_eq!(unescape("%4"), None);
    }
}
