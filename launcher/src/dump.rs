//! `--dump-layout`: starts only a content process, asks it for the page's box tree, prints
//! it to stdout. Layout stays in the content process (the launcher never parses a page),
//! and no GPU process is needed.

use std::path::Path;

use armature_api::Viewport;
use armature_api::messages::{ContentToLauncher, LauncherToContent, LayoutDumpFormat, ProcessRole};

use crate::cli::DumpFormat;
use crate::error::LauncherError;
use crate::session::{FRAME_TIMEOUT, check_page};
use crate::supervise::{self, ChildOptions, SHUTDOWN_GRACE};

/// Prints the layout dump of `page`.
pub fn run(page: &Path, viewport: Viewport, format: DumpFormat, verbose: bool) -> Result<(), LauncherError> {
    check_page(page)?;
    let content = supervise::spawn::<LauncherToContent, ContentToLauncher>(
        ProcessRole::Content,
        ChildOptions { verbose, ..ChildOptions::default() },
    )?;
    let mut content = content.connect()?;
    let format = match format {
        DumpFormat::Text => LayoutDumpFormat::Text,
        DumpFormat::Json => LayoutDumpFormat::Json,
    };
    let page_path = std::path::absolute(page).unwrap_or_else(|_| page.to_owned());
    content
        .sender
        .send(LauncherToContent::DumpLayout { page: page_path, viewport, format })
        .map_err(|error| LauncherError::Ipc(error.to_string()))?;
    let Some(receiver) = content.receiver.take() else {
        return Err(LauncherError::Ipc("the content process's channel was already taken".into()));
    };
    let reply = receiver.try_recv_timeout(FRAME_TIMEOUT);
    let result = match reply {
        Ok(ContentToLauncher::LayoutDump(dump)) => {
            print!("{dump}");
            Ok(())
        }
        Ok(ContentToLauncher::Failed { message }) => {
            Err(LauncherError::Page { page: page.to_owned(), message })
        }
        Ok(other) => Err(LauncherError::Ipc(format!("unexpected reply to a layout dump: {other:?}"))),
        Err(ipc_channel::TryRecvError::Empty) => {
            Err(LauncherError::FrameTimeout { page: page.to_owned(), timeout: FRAME_TIMEOUT })
        }
        Err(ipc_channel::TryRecvError::IpcError(_)) => {
            let status = content.reap();
            Err(LauncherError::ChildDied { role: content.role, pid: content.pid, status })
        }
    };
    let _ = content.sender.send(LauncherToContent::Shutdown);
    content.wait_or_kill(SHUTDOWN_GRACE);
    result
}
