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
use fake_slack::{Mode, Receiver};
use serde_json::{json, Value};
use slack_alert_engine::{BufferedLog, Config, Decision, Engine, EngineOptions, ManualClock};

struct Fleet {
    receiver: Receiver,
    clock: Arc<ManualClock>,
    nodes: Vec<Arc<Engine>>,
    logs: Vec<Arc<BufferedLog>>,
}

const WINDOW: Duration = Duration::from_secs(60);
/// Each store call's timeout: generous, as a busy machine can hold an OpenSearch answer for
/// seconds and a timed-out call is a fallback (a duplicate). It is real time; windows, grace
/// and lease run on the test's clock, so it costs nothing.
const STORE_TIMEOUT: &str = "30s";
/// Past an owner's grace after its window's close (the flush interval, 2 s, plus the store
/// timeout), on the test's clock.
const PAST_GRACE: Duration = Duration::from_secs(2 + 30 + 1);
/// `coordination_lease`, as every node here has it.
const LEASE: Duration = Duration::from_secs(10);

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
                "coordination_timeout": STORE_TIMEOUT,
                "coordination_lease": format!("{}s", LEASE.as_secs()),
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

/// Every document of `index`, as OpenSearch answers `_search` (plain HTTP).
fn search_all(url: &str, index: &str) -> String {
    use std::io::{Read, Write};
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    stream
        .set_read_timeout(Some(CEILING))
        .expect("read timeout");
    write!(
        stream,
        "GET /{index}/_search?size=1000 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    answer
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
    f.advance(PAST_GRACE);
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

#[test]
fn a_retry_after_seen_by_one_node_makes_the_others_wait() {
    let os = search::OpenSearch::shared();
    let f = fleet(vec![os.url().to_string()], "fleet-pace", 3, json!({}));
    // The webhook says "wait 3 s" to node 0's alert, and answers every post after it.
    f.receiver
        .set_mode(Mode::fail_next(1, Mode::rate_limited(Some(3))));
    submit(&f.nodes[0], 0);
    f.settle();
    assert!(
        wait_until(CEILING, || f.receiver.stats().rate_limited >= 1),
        "node 0 was answered 429"
    );
    // Its coordinator publishes the wait (set_not_before, by the URL's hash).
    assert!(
        wait_until(CEILING, || f.nodes[0].fleet_not_before_ms() > 0),
        "node 0 published the Retry-After"
    );
    assert_eq!(
        f.nodes[1].fleet_not_before_ms(),
        0,
        "not read before needed"
    );
    // The webhook would answer now; the other nodes' alerts must still wait for it.
    submit(&f.nodes[1], 1);
    submit(&f.nodes[2], 2);
    f.settle();
    let waited = f.nodes[0].fleet_not_before_ms();
    for node in &f.nodes[1..] {
        assert_eq!(
            node.fleet_not_before_ms(),
            waited,
            "read before its alert went to the sender"
        );
    }
    assert!(
        wait_until(CEILING, || f.receiver.accepted().len() >= 3),
        "{} accepted",
        f.receiver.accepted().len()
    );
    assert_eq!(
        f.receiver.violations(),
        Vec::<String>::new(),
        "no node posted into the wait"
    );
    assert_eq!(f.receiver.stats().rate_limited, 1, "one 429 for the fleet");
    assert_eq!(f.counter("coordination_failures"), 0);
    // The destination is named in the store by its URL's hash, never the URL or its token.
    let stored = search_all(os.url(), "fleet-pace");
    assert!(stored.contains("pace:webhook:"), "{stored}");
    assert!(
        !stored.contains("leaktoken") && !stored.contains("LEAKTEST"),
        "{stored}"
    );
    for node in &f.nodes {
        node.shutdown();
    }
}

#[test]
fn a_killed_owners_incidents_are_taken_over_and_reported_within_the_bound() {
    let os = search::OpenSearch::shared();
    let f = fleet(vec![os.url().to_string()], "fleet-kill", 3, json!({}));
    // Node 0 sees every problem first: it owns them all.
    for p in 0..10 {
        submit(&f.nodes[0], p);
    }
    f.settle();
    storm(&f, 0..10, &[2, 4, 4]);
    f.settle();
    // Flushed by every node.
    f.advance(Duration::from_millis(2500));
    // Node 0 counts 3 more per problem and dies before its next flush.
    storm(&f, 0..10, &[3, 1, 1]);
    f.settle();
    assert!(
        wait_until(CEILING, || f.receiver.accepted().len() >= 10),
        "10 alerts"
    );
    f.nodes[0].kill_coordination();
    // The windows close; the followers wait for the owner's report until its lease ends
    // (window + grace + coordination_lease after the claim), then one takes over.
    f.advance(WINDOW);
    f.advance(PAST_GRACE);
    assert_eq!(
        f.receiver.accepted().len(),
        10,
        "no report before the lease ends"
    );
    f.advance(LEASE);
    assert!(
        wait_until(CEILING, || f.receiver.accepted().len() >= 20),
        "{} messages",
        f.receiver.accepted().len()
    );
    // The loser of the take-over looks again and finds it reported.
    f.advance(Duration::from_secs(3));
    f.advance(Duration::from_secs(3));
    let seen = by_problem(&f.receiver, 10);
    // Seen: 1 + (2 + 4 + 4) + (3 + 1 + 1) = 16 per problem; node 0's last 3 were never flushed.
    let (total, unflushed) = (16u64, 3u64);
    for (p, (alerts, repeats)) in &seen {
        assert_eq!(*alerts, 1, "problem {p}");
        assert_eq!(
            repeats.len(),
            1,
            "problem {p}: one report, by the new owner"
        );
        let count = repeats[0];
        assert!(
            (total - 1 - unflushed..total).contains(&count),
            "problem {p}: {count} repeats, bound {}..={}",
            total - 1 - unflushed,
            total - 1
        );
        assert_eq!(
            count,
            total - 1 - unflushed,
            "exactly what node 0 had flushed"
        );
    }
    assert_eq!(f.counter("coordination_takeovers"), 10);
    for node in &f.nodes {
        node.shutdown();
    }
    assert_eq!(
        f.receiver.accepted().len(),
        20,
        "the dead node said nothing at shutdown"
    );
}

/// A TCP forwarder to the OpenSearch node that can be cut: while down, it closes every
/// connection, open or new, at once (the node is gone as a client sees it).
struct Cut {
    addr: std::net::SocketAddr,
    down: Arc<std::sync::atomic::AtomicBool>,
    open: Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Cut {
    fn start(target: &str) -> Cut {
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::{AtomicBool, Ordering};
        let target: std::net::SocketAddr = target
            .trim_start_matches("http://")
            .parse()
            .expect("host:port");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let down = Arc::new(AtomicBool::new(false));
        let open = Arc::new(std::sync::Mutex::new(Vec::<TcpStream>::new()));
        let (d, o) = (down.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if d.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                o.lock().unwrap().push(client.try_clone().unwrap());
                o.lock().unwrap().push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Cut { addr, down, open }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
        if down {
            for s in self.open.lock().unwrap().drain(..) {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

fn logged(f: &Fleet, seen: &mut [bool], what: &str) -> bool {
    for (i, log) in f.logs.iter().enumerate() {
        if log.drain().iter().any(|(_, l)| l.contains(what)) {
            seen[i] = true;
        }
    }
    seen.iter().all(|s| *s)
}

#[test]
fn with_the_store_gone_every_node_alerts_alone_and_coordination_resumes_after() {
    let os = search::OpenSearch::shared();
    let cut = Cut::start(os.url());
    let f = fleet(vec![cut.url()], "fleet-outage", 3, json!({}));
    let times = [2, 3, 4];
    storm(&f, 0..10, &times);
    f.settle();
    assert!(
        wait_until(CEILING, || f.receiver.accepted().len() >= 10),
        "10 alerts"
    );

    cut.set_down(true);
    // New problems: every node posts its own (3 × 10), nothing held back.
    storm(&f, 10..20, &times);
    // And the claimed ones repeat: still repeats.
    storm(&f, 0..10, &times);
    f.settle();
    assert!(
        wait_until(CEILING, || f.receiver.accepted().len() >= 40),
        "{} messages",
        f.receiver.accepted().len()
    );
    assert!(f.counter("coordination_failures") >= 3);
    assert!(f.counter("coordination_fallbacks") >= 30);

    cut.set_down(false);
    let mut resumed = vec![false; 3];
    assert!(
        wait_until(CEILING, || logged(
            &f,
            &mut resumed,
            "the coordination store answers again"
        )),
        "every node probes and resumes by itself"
    );
    storm(&f, 20..30, &times);
    storm(&f, 0..10, &times);
    f.settle();
    assert!(
        wait_until(CEILING, || f.receiver.accepted().len() >= 50),
        "50 alerts"
    );
    f.advance(WINDOW);
    f.advance(PAST_GRACE);
    // Reports: 10 + 30 (each node its own for the problems it posted alone) + 10.
    assert!(
        wait_until(CEILING, || f.receiver.accepted().len() >= 100),
        "{} messages",
        f.receiver.accepted().len()
    );
    for node in &f.nodes {
        node.shutdown();
    }
    let failures: Vec<String> = f
        .logs
        .iter()
        .flat_map(|l| l.drain())
        .map(|(_, l)| l)
        .filter(|l| l.contains("coordination store"))
        .collect();
    let seen = by_problem(&f.receiver, 30);
    let each: u64 = times.iter().sum::<usize>() as u64;
    for (p, (alerts, repeats)) in &seen {
        match p {
            0..=9 => {
                assert_eq!(*alerts, 1, "problem {p}: claimed before: no duplicate");
                assert_eq!(
                    repeats,
                    &vec![3 * each - 1],
                    "problem {p}: counts flushed after; {failures:#?}"
                );
            }
            10..=19 => {
                assert_eq!(*alerts, 3, "problem {p}: each node alone");
                assert_eq!(
                    repeats.iter().sum::<u64>(),
                    each - 3,
                    "problem {p}: {repeats:?}"
                );
            }
            _ => {
                assert_eq!(*alerts, 1, "problem {p}: coordinated again");
                assert_eq!(repeats, &vec![each - 1], "problem {p}");
            }
        }
    }
    assert_eq!(f.receiver.accepted().len(), 100);
}

#[test]
fn hostile_answers_fall_back_without_a_panic_and_lose_nothing() {
    use search::{FakeServer, Reply};
    type Answer = Box<dyn Fn(&search::Captured) -> Reply + Send + Sync>;
    let modes: Vec<(&str, Answer)> = vec![
        (
            "garbage",
            Box::new(|_| Reply::Status(200, "{\"result\": [nonsense".into())),
        ),
        (
            "500",
            Box::new(|_| Reply::Status(500, "{\"error\":\"boom\"}".into())),
        ),
        ("hang", Box::new(|_| Reply::Hang)),
        (
            "10MB",
            Box::new(|_| Reply::Chunked {
                len: 10 * 1024 * 1024,
            }),
        ),
    ];
    for (name, reply) in modes {
        let server = FakeServer::start(reply);
        let f = fleet(
            vec![server.url()],
            "fleet-hostile",
            1,
            json!({"coordination_timeout": "500ms"}),
        );
        let node = &f.nodes[0];
        for _ in 0..4 {
            for p in 0..5 {
                let d = submit(node, p);
                assert!(
                    matches!(d, Decision::Alerted | Decision::Repeat),
                    "{name}: {d:?}"
                );
            }
        }
        f.settle();
        assert!(
            wait_until(CEILING, || f.receiver.accepted().len() >= 5),
            "{name}: alerts posted alone"
        );
        f.advance(WINDOW);
        assert!(
            wait_until(CEILING, || f.receiver.accepted().len() >= 10),
            "{name}: {} messages",
            f.receiver.accepted().len()
        );
        node.shutdown();
        for (p, (alerts, repeats)) in by_problem(&f.receiver, 5) {
            assert_eq!(alerts, 1, "{name}: problem {p}");
            assert_eq!(
                repeats,
                vec![3],
                "{name}: problem {p}: every repeat reported"
            );
        }
        assert!(
            node.counter("coordination_failures").unwrap() >= 1,
            "{name}"
        );
        assert!(
            node.counter("coordination_fallbacks").unwrap() >= 5,
            "{name}"
        );
        assert_eq!(node.counter("internal_errors"), Some(0), "{name}: no panic");
        drop(server);
    }
}
