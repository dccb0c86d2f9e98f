//! Renders the option docs from the engine's option table
//! (`rust/engine/src/config/table.rs`):
//!
//! ```text
//! cargo run -q -p slack-alert-engine --example option-docs -- asciidoc      # the gem's docs/index.asciidoc, to stdout
//! cargo run -q -p slack-alert-engine --example option-docs -- readme FILE   # rewrites FILE's Options table
//! cargo run -q -p slack-alert-engine --example option-docs -- names         # one option name a line
//! ```

use std::process::ExitCode;

use slack_alert_engine::config::{option_docs, OPTION_TABLE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["asciidoc"] => print!("{}", option_docs::asciidoc()),
        ["names"] => OPTION_TABLE.iter().for_each(|o| println!("{}", o.name)),
        ["readme", path] => {
            let rewritten = std::fs::read_to_string(path)
                .map_err(|e| format!("{path}: {e}"))
                .and_then(|text| option_docs::with_readme_table(&text).map(|new| (text, new)))
                .and_then(|(old, new)| {
                    if old == new {
                        return Ok(false);
                    }
                    std::fs::write(path, new).map_err(|e| format!("{path}: {e}"))?;
                    Ok(true)
                });
            match rewritten {
                Ok(changed) => eprintln!(
                    "{path}: generated tables {}",
                    if changed {
                        "rewritten"
                    } else {
                        "already current"
                    }
                ),
                Err(e) => {
                    eprintln!("option-docs: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        _ => {
            eprintln!("usage: option-docs asciidoc | names | readme FILE");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
