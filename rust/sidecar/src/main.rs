//! `slack-alert`: see `slack-alert --help` and the crate docs of
//! `slack_alert_sidecar`. Exit codes live here and only here: 0 ok,
//! 1 runtime failure, 2 bad usage or bad configuration.

use std::io::{self, Write};
use std::process::ExitCode;

use slack_alert_sidecar::cli::{self, Command, UsageError};
use slack_alert_sidecar::{signals, Error};

fn main() -> ExitCode {
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| {
            a.into_string()
                .map_err(|a| UsageError(format!("{}: is not valid UTF-8", a.to_string_lossy())))
        })
        .collect();
    let command = match args.and_then(cli::parse) {
        Ok(command) => command,
        Err(e) => return fail(&Error::Usage(e)),
    };
    let stdout = io::stdout();
    let stderr = io::stderr();
    let result = match command {
        Command::Help(text) => {
            print!("{text}");
            Ok(())
        }
        Command::Version => {
            println!("slack-alert {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Check(args) => {
            let mut out = io::BufWriter::new(stdout.lock());
            let result = slack_alert_sidecar::check(&args, &mut out, &mut stderr.lock());
            result.and_then(|()| out.flush().map_err(Error::Io))
        }
        Command::Run(args) => {
            signals::install();
            // Unlocked handles: the engine's threads log to stderr meanwhile.
            slack_alert_sidecar::run(
                &args,
                &mut io::stdout(),
                &mut io::stderr(),
                signals::wait_for_termination,
            )
        }
        Command::SendTest(args) => slack_alert_sidecar::send_test(&args, &mut stdout.lock()),
        // Its exit codes say how much was converted (0, 1, 2).
        Command::ImportElastalert(args) => {
            return match slack_alert_sidecar::import_elastalert::import(
                &args,
                &mut stdout.lock(),
                &mut stderr.lock(),
            ) {
                Ok(code) => ExitCode::from(code),
                Err(e) => fail(&Error::Io(e)),
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &Error) -> ExitCode {
    // Output cut short by a reader that has seen enough (`| head`) is no news.
    if !matches!(e, Error::Io(err) if err.kind() == io::ErrorKind::BrokenPipe) {
        let _ = writeln!(io::stderr(), "slack-alert: {e}");
    }
    ExitCode::from(if e.is_bad_usage() { 2 } else { 1 })
}
