//! Every option with every kind of wrong value fails at start, with a
//! message that names the option and never repeats the webhook URL.

use serde_json::{json, Value};
use slack_alert_engine::config::OPTIONS;
use slack_alert_engine::Config;

const SECRET: &str = "CONFIGSECRETtoken";

fn valid_webhook() -> String {
    format!("https://hooks.slack.com/services/T0/B0/{SECRET}")
}

/// Values of the wrong type for anything, and absurd ones.
fn wrong_for_anything() -> Vec<Value> {
    vec![
        json!({"nested": "map"}),
        json!([[1, 2], {"a": 1}]),
        json!(1.5),
        json!(-1),
        json!(1e300),
    ]
}

/// Wrong values for one option, on top of [`wrong_for_anything`] where that
/// is wrong for it too.
fn wrong_values(option: &str) -> Vec<Value> {
    let mut bad = match option {
        "webhook_url" => vec![
            json!(5),
            json!(true),
            json!("not a url"),
            json!(format!("http://hooks.slack.com/services/T0/B0/{SECRET}")),
            json!(format!("https://evil.example/services/T0/B0/{SECRET}")),
            json!(format!("https://hooks.slack.com.evil.io/services/{SECRET}")),
            json!(format!("ftp://hooks.slack.com/services/{SECRET}")),
            json!(format!("hooks.slack.com/services/{SECRET}")),
        ],
        "levels" => vec![
            json!(5),
            json!(true),
            json!([1]),
            json!(["EROR"]),
            json!([]),
            json!("ERROR, LOUD"),
            json!(["ERROR", null]),
        ],
        "min_level" => vec![json!(5), json!(["WARN"]), json!("loud"), json!("")],
        "level_field" => vec![json!(5), json!("[log][level"), json!("[]"), json!("]x[")],
        "dedup_fields" => vec![json!(5), json!([1]), json!(["[a][b"]), json!({"a": 1})],
        "channel" | "username" | "icon_emoji" | "icon_url" => {
            vec![json!(5), json!(true), json!(["#ops"])]
        }
        "title" | "format" => vec![
            json!(5),
            json!(""),
            json!("   "),
            json!("%{+YYYY.MM.dd}"),
            json!("%{{yyyy}}"),
            json!("%{[a][b}"),
        ],
        "dedup_window" | "timeout" | "shutdown_timeout" => vec![
            json!(true),
            json!("5 minutes"),
            json!("-1s"),
            json!("1.5h"),
            json!("5x"),
            json!("99999999999999999999s"),
            json!("3650d"),
            json!(u64::MAX),
        ],
        "rate_limit" | "burst" | "queue_size" | "max_tracked" | "max_retries" => vec![
            json!("lots"),
            json!(true),
            json!("-5"),
            json!(1_000_000_000_000u64),
            json!(u64::MAX),
            json!("1e3"),
        ],
        "dry_run" | "allow_custom_webhook" => {
            vec![json!("yes"), json!(1), json!(0), json!("")]
        }
        "equals" | "contains" | "regex" | "exclude" => vec![
            json!(5),
            json!("[message]"),
            json!({}),
            json!({"[message": "x"}),
            json!({"[message]": []}),
            json!({"[message]": [null]}),
            json!({"[message]": {"a": 1}}),
        ],
        "query" => vec![
            json!(5),
            json!(true),
            json!(""),
            json!("   "),
            json!(["message: x"]),
            json!("service.name:"),
            json!("(a:1 or b:2"),
            json!("a:\"open"),
            json!("x* : 1"),
            json!("a >= "),
            json!("a".repeat(10_001)),
        ],
        "query_language" => vec![json!(5), json!("sql"), json!(""), json!(["kql"])],
        "threshold" => vec![json!(0), json!("lots"), json!(1_000_001), json!(2)],
        "threshold_window" => vec![json!("5 minutes"), json!("0s"), json!("8d"), json!("1m")],
        "group_by" => vec![json!(5), json!("[a][b"), json!(["[service.name]"])],
        "mentions" => vec![
            json!(5),
            json!("<!here>"),
            json!({"LOUD": "<!here>"}),
            json!({"FATAL": "@here"}),
            json!({"FATAL": "<!here> wake up"}),
            json!({"FATAL": 5}),
            json!({"default": ""}),
            json!({"ERROR": "<@u123>"}),
            json!({"ERROR": "<!subteam^U123>"}),
        ],
        "link_template" => vec![
            json!(5),
            json!(""),
            json!("ftp://kibana/x"),
            json!("kibana.example/app"),
            json!("https://%{[host.name]}/app"),
            json!("https://kibana.example/app?q=%{+YYYY.MM.dd}"),
            json!("https://kibana.example/a b"),
        ],
        "link_text" => vec![json!(5), json!(""), json!("x".repeat(76))],
        "destination" => vec![json!(5), json!("email"), json!("")],
        "body_template" => vec![
            json!(5),
            json!("{"),
            json!("\"text\""),
            json!({"text": "%{[a"}),
            // Valid JSON, but the destination is Slack.
            json!({"text": "%{[@alert][text]}"}),
        ],
        "slack_token" => vec![
            json!(5),
            json!(true),
            json!(format!("xoxp-{SECRET}")),
            json!(SECRET),
            json!(format!("xoxb-{SECRET} x")),
            json!(format!("xoxb-{SECRET}\nInjected: header")),
        ],
        "slack_api_url" => vec![
            json!(5),
            json!("not a url"),
            json!("http://slack.com/api"),
            json!("https://evil.example/api"),
            json!(format!("https://u:{SECRET}@slack.com/api")),
        ],
        "fallback_channel" => vec![
            json!(5),
            json!(""),
            json!("#a-%{[service.name]}"),
            json!("two words"),
        ],
        "update_interval" => vec![json!(true), json!("0s"), json!("100ms"), json!("2h")],
        "thread_replies" => vec![json!(5), json!("all"), json!("")],
        "reply_broadcast" => vec![json!("yes"), json!(1)],
        "proxy" => vec![
            json!(5),
            json!("not a url"),
            json!(format!("ftp://u:{SECRET}@proxy.example:21")),
            json!(format!("u:{SECRET}@proxy.example:3128")),
            json!("http://proxy.example:3128/some/path"),
        ],
        "ssl_certificate_authorities" => vec![
            json!(5),
            json!("/nonexistent/ca.pem"),
            json!(["/nonexistent/ca.pem"]),
            json!([5]),
            json!(["Cargo.toml"]),
        ],
        "coordination_hosts" => vec![
            json!(5),
            json!([]),
            json!([5]),
            json!(["ftp://es1:9200"]),
            json!([format!("https://elastic:{SECRET}@es1:9200")]),
            json!(["http://es1:9200/?x=1"]),
        ],
        "coordination_index" => vec![
            json!(5),
            json!(""),
            json!("Upper"),
            json!("_x"),
            json!("a b"),
            json!("a/b"),
        ],
        "coordination_api_key" => vec![json!(5), json!(""), json!(["k"])],
        "coordination_user" => vec![json!(5), json!(""), json!("a:b"), json!(["u"])],
        "coordination_password" => vec![json!(5), json!(true), json!(["p"])],
        "coordination_ssl_certificate_authorities" => vec![
            json!(5),
            json!("/nonexistent/ca.pem"),
            json!(["/nonexistent/ca.pem"]),
            json!([5]),
            json!(["Cargo.toml"]),
        ],
        "coordination_timeout" => vec![json!(true), json!("0s"), json!("99ms"), json!("301s")],
        "coordination_lease" => vec![json!(true), json!("0s"), json!("999ms"), json!("2h")],
        "rules" => vec![
            json!(5),
            json!("default"),
            json!([]),
            json!({"name": "x"}),
            json!(vec![json!({"name": "r"}); 101]),
        ],
        other => panic!("no wrong values for {other}: add them"),
    };
    match option {
        // A map is what these take; a wrong map is among their own values.
        "equals" | "contains" | "regex" | "exclude" => {
            bad.extend(wrong_for_anything().into_iter().skip(1))
        }
        // A list names the rule at fault (`rules[0]`): tested apart.
        "rules" => {}
        _ => bad.extend(wrong_for_anything()),
    }
    // Zero where it is not allowed, and the bounds just past each range.
    match option {
        "rate_limit" => bad.extend([json!(0), json!(3601)]),
        "burst" => bad.extend([json!(0), json!(1001)]),
        "queue_size" => bad.extend([json!(0), json!(1_000_001)]),
        "max_tracked" => bad.extend([json!(0), json!(10_000_001)]),
        "max_retries" => bad.push(json!(101)),
        "timeout" => bad.extend([json!("0s"), json!("99ms"), json!("301s")]),
        "dedup_window" => bad.push(json!("8d")),
        "shutdown_timeout" => bad.push(json!("601s")),
        _ => {}
    }
    bad
}

#[test]
fn every_option_with_every_wrong_value_fails_naming_the_option() {
    let mut checked = 0;
    for option in OPTIONS {
        for value in wrong_values(option) {
            // App-mode options are checked in app mode.
            let mut config = if option.starts_with("slack_")
                || [
                    "fallback_channel",
                    "update_interval",
                    "thread_replies",
                    "reply_broadcast",
                ]
                .contains(option)
            {
                json!({"slack_token": format!("xoxb-{SECRET}"), "channel": "#alerts"})
            } else {
                json!({"webhook_url": valid_webhook()})
            };
            config[*option] = value.clone();
            let error = match Config::try_from(config.clone()) {
                Ok(_) => panic!("{option} = {value} was accepted"),
                Err(e) => e,
            };
            let message = error.to_string();
            assert_eq!(
                error.option(),
                *option,
                "{option} = {value}: the message names another option: {message}"
            );
            assert!(
                message.starts_with(&format!("{option}: ")),
                "{option} = {value}: {message}"
            );
            assert!(
                !message.contains(SECRET),
                "{option} = {value}: the message repeats the webhook: {message}"
            );
            // Through the JSON the Java shim passes, the same.
            let from_json = Config::from_json(&config.to_string()).unwrap_err();
            assert_eq!(from_json.to_string(), message);
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked}");
}

#[test]
fn a_query_error_names_the_column_and_the_rule() {
    let e =
        Config::try_from(json!({"dry_run": true, "query": "service.name: or x:1"})).unwrap_err();
    assert_eq!(e.to_string(), "query: at 15: expected a value after ':'");
    let e = Config::try_from(json!({"dry_run": true, "rules": [
        {"name": "ok", "query": "a:1"},
        {"name": "payments", "query_language": "lucene", "query": "status:[500 TO 599"},
    ]}))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "rules[1] (payments).query: at 8: this range is not closed: expected ']' or '}'"
    );
}

#[test]
fn unknown_options_and_documents_that_are_not_maps_are_named() {
    let e = Config::try_from(json!({"webhook_url": valid_webhook(), "rate": 5})).unwrap_err();
    assert_eq!(e.option(), "rate");
    assert!(e.to_string().contains("unknown option"), "{e}");
    for doc in ["", "[]", "null", "5", "\"x\"", "{", "{\"dry_run\": true,}"] {
        let e = Config::from_json(doc).unwrap_err();
        assert_eq!(e.option(), "config", "{doc}: {e}");
    }
}

#[test]
fn a_non_slack_webhook_is_accepted_only_with_the_opt_in_and_never_shown() {
    for url in [
        format!("http://127.0.0.1:9/services/{SECRET}"),
        format!("https://slack.internal.example/hooks/{SECRET}"),
    ] {
        let refused = Config::try_from(json!({"webhook_url": url})).unwrap_err();
        assert_eq!(refused.option(), "webhook_url");
        assert!(refused.to_string().contains("allow_custom_webhook"));
        assert!(!refused.to_string().contains(SECRET));
        let accepted =
            Config::try_from(json!({"webhook_url": url, "allow_custom_webhook": true})).unwrap();
        assert!(!format!("{accepted:?}").contains(SECRET));
    }
}

/// Rules on one webhook share its token bucket and summary, so a rule that
/// sets another `rate_limit` or `burst` there is refused at start, naming
/// both rules and the option; the same values, or a webhook each, are fine.
#[test]
fn rules_sharing_a_webhook_must_agree_on_its_rate_limit() {
    for option in ["rate_limit", "burst"] {
        let mut payments = json!({"name": "payments", "equals": {"[service.name]": "payments"}});
        payments[option] = json!(2);
        let config = json!({
            "webhook_url": valid_webhook(),
            "rules": [{"name": "errors"}, {"name": "audit"}, payments],
        });
        let error = Config::try_from(config.clone()).unwrap_err();
        let message = error.to_string();
        assert_eq!(
            error.option(),
            format!("rules[2] (payments).{option}"),
            "{message}"
        );
        assert!(
            message.contains("is 2, but rule \"errors\" (rules[0]) posts to the same destination"),
            "{message}"
        );
        assert!(message.contains(&format!("same {option}")), "{message}");
        assert!(!message.contains(SECRET), "{message}");
        assert_eq!(
            Config::from_json(&config.to_string())
                .unwrap_err()
                .to_string(),
            message
        );

        // Set once at the top, or the same in every rule: one limit.
        let mut top =
            json!({"webhook_url": valid_webhook(), "rules": [{"name": "a"}, {"name": "b"}]});
        top[option] = json!(2);
        let c = Config::try_from(top).unwrap();
        assert_eq!(c.destinations.len(), 1);
        let mut same =
            json!({"webhook_url": valid_webhook(), "rules": [{"name": "a"}, {"name": "b"}]});
        same["rules"][0][option] = json!(2);
        same["rules"][1][option] = json!(2);
        Config::try_from(same).unwrap();

        // A webhook of its own: a limit of its own.
        let mut own = payments.clone();
        own["webhook_url"] = json!(format!("{}other", valid_webhook()));
        let c = Config::try_from(json!({
            "webhook_url": valid_webhook(),
            "rules": [{"name": "errors"}, own],
        }))
        .unwrap();
        assert_eq!(c.destinations.len(), 2);
    }
}
