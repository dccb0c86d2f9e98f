//! Where the default message finds the ECS fields it shows.
//!
//! The same logical field arrives under different keys depending on the
//! logger: the ECS encoders for logback and log4j2 emit flat dotted keys
//! (`"log.logger": ...`), Beats and Elastic Agent nest them
//! (`"log": {"logger": ...}`), Python's ecs-logging mixes both, and plain
//! JSON encoders use their own names (`logger_name`, `thread_name`). Each
//! field therefore lists candidate references, tried in that order: flat
//! first because it is what the services this plugin was written for emit.
//!
//! The engine asks the Java side for [`all_references`] on every matched
//! event, so a candidate added here is fetched automatically.

use serde_json::Value;

use crate::Fields;

/// A field the default message shows and where to look for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EcsField {
    /// The label shown next to the value.
    pub name: &'static str,
    /// Canonical references to try, in order.
    pub candidates: &'static [&'static str],
}

/// The event time.
pub const TIMESTAMP: EcsField = EcsField {
    name: "Time",
    candidates: &["[@timestamp]"],
};

/// The log message.
pub const MESSAGE: EcsField = EcsField {
    name: "Message",
    candidates: &["[message]"],
};

/// The logger (usually a class name).
pub const LOGGER: EcsField = EcsField {
    name: "Logger",
    candidates: &["[log.logger]", "[log][logger]", "[logger_name]"],
};

/// The thread that logged.
pub const THREAD: EcsField = EcsField {
    name: "Thread",
    candidates: &[
        "[process.thread.name]",
        "[process][thread][name]",
        "[thread_name]",
    ],
};

/// The distributed-tracing trace id, to jump from Slack to the trace.
pub const TRACE_ID: EcsField = EcsField {
    name: "Trace ID",
    candidates: &["[trace.id]", "[trace][id]"],
};

/// The service that logged.
pub const SERVICE: EcsField = EcsField {
    name: "Service",
    candidates: &["[service.name]", "[service][name]"],
};

/// The host that logged. The last candidate, a bare `[host]`, is what
/// Logstash's tcp, udp and syslog inputs set to the sender's name; in ECS data
/// `[host]` is an object, which [`first`] skips.
pub const HOST: EcsField = EcsField {
    name: "Host",
    candidates: &[
        "[host.name]",
        "[host][name]",
        "[host.hostname]",
        "[host][hostname]",
        "[host]",
    ],
};

/// The exception class.
pub const ERROR_TYPE: EcsField = EcsField {
    name: "Error type",
    candidates: &["[error.type]", "[error][type]"],
};

/// The exception message.
pub const ERROR_MESSAGE: EcsField = EcsField {
    name: "Error message",
    candidates: &["[error.message]", "[error][message]"],
};

/// The stack trace, as one string.
pub const STACK_TRACE: EcsField = EcsField {
    name: "Stack trace",
    candidates: &[
        "[error.stack_trace]",
        "[error][stack_trace]",
        "[stack_trace]",
    ],
};

/// The deployment environment (`prod`, `staging`).
pub const ENVIRONMENT: EcsField = EcsField {
    name: "Environment",
    candidates: &["[service.environment]", "[service][environment]"],
};

/// Every field above.
pub const ALL: &[&EcsField] = &[
    &TIMESTAMP,
    &MESSAGE,
    &LOGGER,
    &THREAD,
    &TRACE_ID,
    &SERVICE,
    &HOST,
    &ERROR_TYPE,
    &ERROR_MESSAGE,
    &STACK_TRACE,
    &ENVIRONMENT,
];

/// Every candidate reference of every field, in order, without duplicates.
pub fn all_references() -> Vec<&'static str> {
    let mut refs: Vec<&'static str> = Vec::new();
    for reference in ALL.iter().flat_map(|f| f.candidates.iter()) {
        if !refs.contains(reference) {
            refs.push(reference);
        }
    }
    refs
}

/// The value of the first candidate that is present, not null and not an
/// empty string; for [`HOST`], values that are objects are skipped too.
///
/// Empty strings are skipped because an encoder that always writes the key
/// (`"log.logger": ""`) would otherwise hide a useful later candidate.
pub fn first<'a>(field: &EcsField, fields: &'a dyn Fields) -> Option<&'a Value> {
    field.candidates.iter().find_map(|reference| {
        fields.get(reference).filter(|value| match value {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Object(_) => field != &HOST,
            _ => true,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field_ref::FieldRef;
    use serde_json::json;

    #[test]
    fn candidates_are_canonical() {
        for field in ALL {
            assert!(!field.candidates.is_empty(), "{}", field.name);
            for c in field.candidates {
                assert_eq!(FieldRef::parse(c).unwrap().canonical(), *c);
            }
        }
    }

    #[test]
    fn all_references_are_unique_and_complete() {
        let refs = all_references();
        let total: usize = ALL.iter().map(|f| f.candidates.len()).sum();
        assert_eq!(refs.len(), total);
        assert_eq!(refs[0], "[@timestamp]");
        assert!(refs.contains(&"[host]"));
        assert!(refs.contains(&"[process][thread][name]"));
    }

    #[test]
    fn flat_keys_win_over_nested_ones() {
        let event = json!({
            "log.logger": "flat",
            "log": {"logger": "nested"},
            "logger_name": "other"
        });
        assert_eq!(first(&LOGGER, &event), Some(&json!("flat")));
    }

    #[test]
    fn nested_and_non_ecs_names_are_found() {
        let event = json!({
            "log": {"logger": "nested"},
            "thread_name": "main",
            "trace": {"id": "t1"},
            "stack_trace": "at x"
        });
        assert_eq!(first(&LOGGER, &event), Some(&json!("nested")));
        assert_eq!(first(&THREAD, &event), Some(&json!("main")));
        assert_eq!(first(&TRACE_ID, &event), Some(&json!("t1")));
        assert_eq!(first(&STACK_TRACE, &event), Some(&json!("at x")));
        assert_eq!(first(&SERVICE, &event), None);
    }

    #[test]
    fn null_and_empty_values_fall_through() {
        let event = json!({"log.logger": null, "log": {"logger": ""}, "logger_name": "x"});
        assert_eq!(first(&LOGGER, &event), Some(&json!("x")));
    }

    #[test]
    fn host_objects_are_skipped() {
        let ecs = json!({"host": {"name": "web-1", "ip": ["10.0.0.1"]}});
        assert_eq!(first(&HOST, &ecs), Some(&json!("web-1")));
        let object_only = json!({"host": {"ip": ["10.0.0.1"]}});
        assert_eq!(first(&HOST, &object_only), None);
        let syslog = json!({"host": "10.0.0.7"});
        assert_eq!(first(&HOST, &syslog), Some(&json!("10.0.0.7")));
        let hostname = json!({"host": {"hostname": "web-2"}});
        assert_eq!(first(&HOST, &hostname), Some(&json!("web-2")));
    }
}
