//! `slack-alert`: see `slack-alert --help` and the crate docs of
//! `slack_alert_sidecar`, whose `main` this is.

fn main() -> std::process::ExitCode {
    slack_alert_sidecar::main()
}
