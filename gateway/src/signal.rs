//! Shutdown signals: SIGINT and SIGTERM on Unix, Ctrl-C on Windows; and SIGHUP on Unix, which
//! makes the daemon read its CSTA users again.
//!
//! The handlers are installed when [`ShutdownSignal::install`] runs, before the daemon says it
//! is listening, so a signal sent right after start-up stops it cleanly.

use std::io;

/// Installed signal handlers; [`ShutdownSignal::recv`] completes on the first signal.
#[derive(Debug)]
pub struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
}

impl ShutdownSignal {
    /// Installs the handlers.
    pub fn install() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(windows)]
        {
            Ok(Self {
                ctrl_c: tokio::signal::windows::ctrl_c()?,
            })
        }
    }

    /// Completes when the process is asked to stop.
    pub async fn recv(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => tracing::info!(signal = "interrupt", "shutting down"),
            _ = self.terminate.recv() => tracing::info!(signal = "terminate", "shutting down"),
        }
        #[cfg(windows)]
        {
            self.ctrl_c.recv().await;
            tracing::info!(signal = "ctrl-c", "shutting down");
        }
    }
}

/// The reload signal (SIGHUP) on Unix; none elsewhere.
#[derive(Debug)]
pub struct ReloadSignal {
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl ReloadSignal {
    /// Installs the handler.
    pub fn install() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                hangup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Waits for the next signal; `false` when none can come (no such signal here).
    pub async fn recv(&mut self) -> bool {
        #[cfg(unix)]
        {
            let received = self.hangup.recv().await.is_some();
            if received {
                tracing::info!(signal = "hangup", "reading the configuration again");
            }
            received
        }
        #[cfg(not(unix))]
        {
            false
        }
    }
}

/// Installs the handlers and completes on the first signal; if they cannot be installed, it
/// never completes (and says so).
pub async fn shutdown_signal() {
    match ShutdownSignal::install() {
        Ok(signal) => signal.recv().await,
        Err(error) => {
            tracing::warn!(%error, "cannot install signal handlers");
            std::future::pending::<()>().await;
        }
    }
}
