//! What makes two matched events "the same alert".

use std::borrow::Cow;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use serde_json::Value;
use slack_alert_event::{ecs, value_text, Fields};

use crate::hash::FoldHasher;
use crate::level::Level;
use crate::normalize::normalize_first_line_into;

/// How many characters of the normalised message a label keeps.
const LABEL_CHARS: usize = 120;

/// An alert's identity: a hash for the tables and a label people can read in
/// summaries (`"ERROR app.db: timeout after <n> ms"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pub hash: u64,
    pub label: String,
}

/// Computes fingerprints, either the default one or from `dedup_fields`.
#[derive(Clone, Debug)]
pub struct Fingerprinter {
    dedup_fields: Vec<String>,
}

impl Fingerprinter {
    /// `dedup_fields` are canonical references; empty selects the default
    /// fingerprint: level, logger, error type and the normalised first line
    /// of the message.
    pub fn new(dedup_fields: Vec<String>) -> Fingerprinter {
        Fingerprinter { dedup_fields }
    }

    /// Every field reference [`Fingerprinter::fingerprint`] may read.
    pub fn references(&self) -> Vec<&str> {
        if self.dedup_fields.is_empty() {
            [
                &ecs::LOGGER,
                &ecs::ERROR_TYPE,
                &ecs::MESSAGE,
                &ecs::ERROR_MESSAGE,
            ]
            .iter()
            .flat_map(|f| f.candidates.iter().copied())
            .collect()
        } else {
            self.dedup_fields.iter().map(String::as_str).collect()
        }
    }

    /// This runs for every matched event, repeats included, so it allocates
    /// once (the label) and hashes with [`FoldHasher`].
    pub fn fingerprint(&self, level: Level, fields: &dyn Fields) -> Fingerprint {
        // No random seed: a fingerprint is the same in every process.
        let mut h = FoldHasher::default();
        if self.dedup_fields.is_empty() {
            let logger = text(ecs::first(&ecs::LOGGER, fields));
            let error_type = text(ecs::first(&ecs::ERROR_TYPE, fields));
            let message = text(
                ecs::first(&ecs::MESSAGE, fields)
                    .or_else(|| ecs::first(&ecs::ERROR_MESSAGE, fields)),
            );
            // "LEVEL logger error_type: first line", the first line normalised
            // straight into the label.
            let mut label = String::with_capacity(
                level.name().len() + logger.len() + error_type.len() + 4 + LABEL_CHARS,
            );
            label.push_str(level.name());
            for part in [&logger, &error_type] {
                if !part.is_empty() {
                    label.push(' ');
                    label.push_str(part);
                }
            }
            label.push_str(": ");
            let start = label.len();
            normalize_first_line_into(&message, LABEL_CHARS, &mut label);
            (level as u8, &*logger, &*error_type, &label[start..]).hash(&mut h);
            Fingerprint {
                hash: h.finish(),
                label,
            }
        } else {
            let mut label = String::new();
            for r in &self.dedup_fields {
                let v = text(fields.get(r));
                (r, &*v).hash(&mut h);
                if !label.is_empty() {
                    label.push_str(", ");
                }
                let shown: String = v.chars().take(LABEL_CHARS).collect();
                let _ = write!(label, "{r}={shown}");
            }
            Fingerprint {
                hash: h.finish(),
                label,
            }
        }
    }
}

fn text(v: Option<&Value>) -> Cow<'_, str> {
    v.map(value_text).unwrap_or(Cow::Borrowed(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fp(f: &Fingerprinter, event: Value) -> Fingerprint {
        f.fingerprint(Level::Error, &event)
    }

    #[test]
    fn default_fingerprint_ignores_numbers_and_ids() {
        let f = Fingerprinter::new(vec![]);
        let a = fp(
            &f,
            json!({"message": "timeout after 3012 ms for user 8812", "log.logger": "app.Db"}),
        );
        let b = fp(
            &f,
            json!({"message": "timeout after 2990 ms for user 17", "log": {"logger": "app.Db"}}),
        );
        assert_eq!(a, b);
        assert_eq!(a.label, "ERROR app.Db: timeout after <n> ms for user <n>");
    }

    #[test]
    fn default_fingerprint_separates_level_logger_and_error_type() {
        let f = Fingerprinter::new(vec![]);
        let base = json!({"message": "boom", "log.logger": "a"});
        let other_logger = json!({"message": "boom", "log.logger": "b"});
        let other_type =
            json!({"message": "boom", "log.logger": "a", "error.type": "java.io.IOException"});
        assert_ne!(fp(&f, base.clone()), fp(&f, other_logger));
        assert_ne!(fp(&f, base.clone()), fp(&f, other_type));
        assert_ne!(
            fp(&f, base.clone()).hash,
            f.fingerprint(Level::Fatal, &base).hash
        );
    }

    #[test]
    fn dedup_fields_override() {
        let f = Fingerprinter::new(vec!["[service.name]".into()]);
        let a = fp(&f, json!({"message": "one", "service.name": "orders"}));
        let b = fp(&f, json!({"message": "two", "service.name": "orders"}));
        let c = fp(&f, json!({"message": "one", "service.name": "billing"}));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.label, "[service.name]=orders");
    }

    #[test]
    fn missing_fields_still_fingerprint() {
        let f = Fingerprinter::new(vec![]);
        assert_eq!(fp(&f, json!({})).label, "ERROR: ");
        assert_eq!(
            fp(&f, json!({"error.message": "disk full"})).label,
            "ERROR: disk full"
        );
    }
}
