//! Fleet-wide coordination (issue 16): three engines in one process stand for three Logstash
//! nodes (distinct node ids), on one real OpenSearch node (java-shim/opensearch-fixture, one
//! for this file; run `scripts/opensearch-fixture` once first), posting to one fake Slack.
//! Windows run on one shared `ManualClock`; nothing waits on wall-clock time but the ceilings
//! of polls.

mod common;
#[path = "../../coordination/tests/common/mod.rs"]
mod search;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{letters, merged, wait_until, CEILING, SECRET};
use fake_slack::Receiver;
use serde_json::{json, Value};
use slack_alert_engine::{BufferedLog, Config, Decision, Engine, EngineOptions, ManualClock};

struct Fleet {
    receiver: Receiver,
    clock: Arc<ManualClock>,
    nodes: Vec<Arc<Engine>>,
    logs: Vec<Arc<BufferedLog>>,
}

const WINDOW: Duration = Duration::from_secs(60);

fn fleet(hosts: Vec<String>, index: &str, n: usize, extra: Value) -> Fleet {
    let receiver = Receiver::start().expect("receiver");
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let mut nodes = Vec::new();
    let mut logs = Vec::new();
    for i in 0..n {
        let config = merged(
            json!({
                "webhook_url": format!("http://{}/services/{SECRET}", receiver.addr()),
                "allow_custom_webhook": true,
                "timeout": "2s",
                "shutdown_timeout": "5s",
                "dedup_window": "60s",
                "rate_limit": 3600,
                "burst": 1000,
                "coordination_hosts": hosts,
                "coordination_index": index,
                "coordination_lease": "10s",
            }),
            extra.clone(),
        );
        let log = Arc::new(BufferedLog::new(10_000));
        let mut opts = EngineOptions::new(log.clone());
        opts.clock = clock.clone();
        opts.pace = Duration::from_millis(1);
        opts.retry_base = Duration::from_millis(50);
        opts.tick = Duration::from_millis(50);
        opts.node_id = Some(format!("{index}-node-{i}"));
        let config = Config::try_from(config).expect("valid config");
        nodes.push(Arc::new(
            Engine::start_with(config, opts).expect("engine starts"),
        ));
        logs.push(log);
    }
    Fleet {
        receiver,
        clock,
        nodes,
        logs,
    }
}

impl Fleet {
    /// Waits until every node's coordinator handled what it was given.
    fn settle(&self) {
        assert!(
            wait_until(CEILING, || self
                .nodes
                .iter()
                .all(|n| n.fleet_backlog() == 0)),
            "the coordinators did not catch up"
        );
    }

    /// Moves the shared clock and runs every node's timers; then waits for the coordinators.
    fn advance(&self, by: Duration) {
        self.clock.advance(by);
        for node in &self.nodes {
            node.tick();
        }
        self.settle();
    }

    fn counter(&self, name: &str) -> u64 {
        self.nodes.iter().map(|n| n.counter(name).unwrap()).sum()
    }
}

fn problem(p: usize) -> String {
    format!("payment gateway failure code {} end", letters(p))
}

fn submit(engine: &Engine, p: usize) -> Decision {
    let event = json!({"log.level": "ERROR", "message": problem(p), "service.name": "pay"});
    engine.submit(&engine.event_from_json(&event))
}

/// The accepted messages by problem: (alerts, repeat counts).
fn by_problem(receiver: &Receiver, problems: usize) -> BTreeMap<usize, (usize, Vec<u64>)> {
    let mut out = BTreeMap::new();
    for message in receiver.accepted() {
        let text = message.to_string();
        let Some(p) = (0..problems).find(|p| text.contains(&format!("code {} end", letters(*p))))
        else {
            panic!("a message about no problem: {text}")
        };
        let entry = out.entry(p).or_insert((0, Vec::new()));
        match repeat_count(&text) {
            Some(n) => entry.1.push(n),
            None => entry.0 += 1,
        }
    }
    out
}

fn repeat_count(text: &str) -> Option<u64> {
    let at = text.find("Repeated ")? + "Repeated ".len();
    let digits: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Node `i` sees each problem `times[i]` times, interleaved with the others.
fn storm(fleet: &Fleet, problems: std::ops::Range<usize>, times: &[usize]) {
    let rounds = times.iter().copied().max().unwrap_or(0);
    for round in 0..rounds {
        for p in problems.clone() {
            for (i, node) in fleet.nodes.iter().enumerate() {
                if round < times[i] {
                    submit(node, p);
                }
            }
        }
    }
}

#[test]
fn three_nodes_post_one_alert_per_problem_and_report_the_fleets_exact_count() {
    let os = search::OpenSearch::shared();
    let f = fleet(vec![os.url().to_string()], "fleet-storm", 3, json!({}));
    let times = [3, 5, 7];
    storm(&f, 0..50, &times);
    f.settle();
    // A progress flush mid-window, then more of the storm.
    f.advance(Duration::from_millis(2500));
    storm(&f, 0..50, &times);
    f.settle();
    assert!(
        wait_until(CEILING, || f.receiver.accepted().len() >= 50),
        "50 alerts"
    );
    // The windows close; the owners wait the grace (flush interval + coordination_timeout).
    f.advance(WINDOW);
    f.advance(Duration::from_secs(10));
    assert!(
        wait_until(CEILING, || f.receiver.accepted().len() >= 100),
        "{} messages",
        f.receiver.accepted().len()
    );
    let total: u64 = 2 * times.iter().sum::<usize>() as u64;
    for node in &f.nodes {
        node.shutdown();
    }
    let seen = by_problem(&f.receiver, 50);
    assert_eq!(seen.len(), 50);
    for (p, (alerts, repeats)) in &seen {
        assert_eq!(*alerts, 1, "problem {p}: one alert across the fleet");
        assert_eq!(
            repeats,
            &vec![total - 1],
            "problem {p}: the fleet's exact count"
        );
    }
    assert_eq!(
        f.counter("alerts"),
        150,
        "every node's core opened each incident"
    );
    assert_eq!(f.counter("coordination_failures"), 0);
    assert_eq!(f.counter("coordination_fallbacks"), 0);
    assert_eq!(f.receiver.accepted().len(), 100, "nothing more at shutdown");
    let _ = &f.logs;
}
