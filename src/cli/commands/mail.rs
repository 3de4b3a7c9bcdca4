//! `bd mail …`: send and read mail between agents and projects.

use clap::Subcommand;

use super::common::{Output, out, read_text_arg};
use crate::cli::args::BodyArgs;
use crate::cli::render;
use crate::error::Result;
use crate::model::mail::Message;
use crate::ops::{self, Session};

#[derive(Subcommand, Debug)]
pub enum MailCmd {
    /// Send a message (to agents here, or to another project's tracker)
    Send {
        /// Recipient (repeatable): name, name@<project>, @all, @<project>, project:<identity>
        #[arg(long, required = true)]
        to: Vec<String>,
        /// Copy to (repeatable)
        #[arg(long)]
        cc: Vec<String>,
        #[arg(short, long)]
        subject: String,
        #[command(flatten)]
        body: BodyArgs,
        /// The issue this message is about
        #[arg(long)]
        issue: Option<String>,
        /// Type of the work item another project makes of it (default: bug)
        #[arg(short = 't', long = "type")]
        issue_type: Option<String>,
    },
    /// Your messages: unread first
    Inbox {
        /// Read ones too
        #[arg(long)]
        all: bool,
        /// Only from this sender
        #[arg(long)]
        from: Option<String>,
        /// Only this thread (any message id in it)
        #[arg(long)]
        thread: Option<String>,
        /// First fetch the mail other projects pushed to this project's remote
        #[arg(long)]
        fetch: bool,
    },
    /// Show a message and mark it read
    Read { id: String },
    /// Messages you sent, newest first, with who read and acknowledged them
    Sent,
    /// Reply to a message (same thread, `Re:` subject)
    Reply {
        id: String,
        #[command(flatten)]
        body: BodyArgs,
        /// Also to every other recipient
        #[arg(long)]
        all: bool,
    },
    /// Acknowledge a message
    Ack { id: String },
    /// Every message of a thread, oldest first
    Thread { id: String },
    /// Find messages whose subject or body contains TEXT
    Search { text: String },
    /// Every message of the project this machine knows, whoever it is for, newest first
    List,
}

fn send_options(b: BodyArgs) -> Result<ops::mail::SendOptions> {
    let body = match (b.body, b.body_file) {
        (Some(t), _) => t,
        (None, Some(p)) => read_text_arg(&p)?,
        (None, None) => String::new(),
    };
    Ok(ops::mail::SendOptions {
        body,
        attach: b.attach,
        importance: b.importance,
        ack: b.ack,
        ..Default::default()
    })
}

pub fn run(ctx: &Session, cmd: MailCmd) -> Result<Output> {
    let list = |msgs: Vec<Message>, empty: &str| {
        let text = if msgs.is_empty() {
            ctx.notice(empty.to_string());
            String::new()
        } else {
            msgs.iter()
                .map(|m| render::message_line(m, &ctx.actor))
                .collect::<Vec<_>>()
                .join("\n")
        };
        out(&msgs, text)
    };
    match cmd {
        MailCmd::Send {
            to,
            cc,
            subject,
            body,
            issue,
            issue_type,
        } => {
            let mut o = send_options(body)?;
            o.to = to;
            o.cc = cc;
            o.subject = subject;
            o.issue = issue;
            o.issue_type = issue_type;
            Ok(posted(ctx, "Sent", ops::mail::send(ctx, &o)?))
        }
        MailCmd::Reply { id, body, all } => {
            let o = send_options(body)?;
            Ok(posted(ctx, "Replied", ops::mail::reply(ctx, &id, o, all)?))
        }
        MailCmd::Inbox {
            all,
            from,
            thread,
            fetch,
        } => {
            let o = ops::mail::InboxOptions {
                all,
                from,
                thread,
                fetch,
            };
            let msgs = ops::mail::inbox(ctx, &o)?;
            let empty = if all {
                "No messages"
            } else {
                "No unread messages"
            };
            Ok(list(msgs, empty))
        }
        MailCmd::Sent => {
            let msgs = ops::mail::sent(ctx)?;
            if msgs.is_empty() {
                ctx.notice("No sent messages");
            }
            let text: String = msgs.iter().map(|m| render::sent_line(m) + "\n").collect();
            Ok(out(&msgs, text))
        }
        MailCmd::Read { id } => {
            let m = ops::mail::read(ctx, &id)?;
            let text = render::message(&m);
            Ok(out(&m, text))
        }
        MailCmd::Ack { id } => {
            let (m, changed) = ops::mail::ack(ctx, &id)?;
            if changed {
                ctx.notice(format!("Acknowledged {}", m.id));
            }
            Ok(out(&m, ""))
        }
        MailCmd::Thread { id } => {
            let msgs = ops::mail::thread(ctx, &id)?;
            let text = msgs
                .iter()
                .map(render::message)
                .collect::<Vec<_>>()
                .join("\n");
            Ok(out(&msgs, text))
        }
        MailCmd::Search { text } => {
            let msgs = ops::mail::search(ctx, &text)?;
            Ok(list(msgs, "No messages match"))
        }
        MailCmd::List => Ok(list(ops::mail::all(ctx)?, "No messages")),
    }
}

/// A message sent or replied: said on stderr, its id on stdout.
fn posted(ctx: &Session, verb: &str, sent: ops::mail::Sent) -> Output {
    ctx.notice(format!(
        "{verb} {} to {}",
        sent.message.id,
        sent.message.to.join(", ")
    ));
    let id = sent.message.id.clone();
    out(sent, id)
}
