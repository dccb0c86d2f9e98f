//! Engine throughput: level matching on pre-extracted batches, fingerprint +
//! dedup of matched events, and the engine's whole `submit`, with allocation
//! counts from a counting global allocator.
//!
//! ```sh
//! scripts/bench engine        # or: cargo bench -p slack-alert-engine --bench engine
//! ```
//!
//! Targets (BENCHMARKS.md): matching ≥ 100 M levels/s/core, fingerprint +
//! dedup ≥ 2 M events/s/core, no allocation per matched level.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use serde_json::{json, Value};
use slack_alert_engine::Flatline;
use slack_alert_engine::Threshold;
use slack_alert_engine::{
    Alerter, BufferedLog, Config, Counters, Engine, EventShape, Fingerprinter, Level, MatchedEvent,
    Matcher, Now, Outbox, Outgoing, RuleSet,
};

/// Counts every allocation (and reallocation) the process makes.
struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocations per call of `f`, over `n` calls (after one warm-up call).
fn allocations_per_call(n: u64, mut f: impl FnMut()) -> f64 {
    f();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..n {
        f();
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / n as f64
}

/// Events per batch, as Logstash's default `pipeline.batch.size`.
const BATCH: usize = 125;

/// A deterministic generator (xorshift), so every run sees the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Levels as Logstash delivers them from ECS loggers: 1% ERROR, the rest
/// INFO, DEBUG and WARN.
fn ecs_levels(n: usize, rng: &mut Rng) -> Vec<&'static [u8]> {
    (0..n)
        .map(|_| match rng.below(100) {
            0 => &b"ERROR"[..],
            1..=60 => b"INFO",
            61..=90 => b"DEBUG",
            _ => b"WARN",
        })
        .collect()
}

/// Every vocabulary the matcher knows, in mixed case, plus values that are
/// not levels: the worst case for a byte-string match.
fn mixed_levels(n: usize, rng: &mut Rng) -> Vec<&'static [u8]> {
    const ALL: &[&[u8]] = &[
        b"INFO",
        b"info",
        b"Information",
        b"DEBUG",
        b"debug",
        b"WARN",
        b"warning",
        b"WARNING",
        b"ERROR",
        b"error",
        b"err",
        b"FATAL",
        b"CRITICAL",
        b"notice",
        b"trace",
        b"verbose",
        b"6",
        b"3",
        b"30",
        b"50",
        b"",
        b"-",
        b"unknown",
        b"informational",
    ];
    (0..n)
        .map(|_| ALL[rng.below(ALL.len() as u64) as usize])
        .collect()
}

const LOGGERS: [&str; 5] = [
    "com.shop.checkout.OrderController",
    "com.shop.payment.PaymentClient",
    "com.shop.inventory.StockRepository",
    "com.shop.auth.TokenVerifier",
    "org.hibernate.engine.jdbc.spi.SqlExceptionHelper",
];

/// One error message of template `t` (0..10) with variable parts from `rng`:
/// numbers, ids and addresses that the fingerprint masks.
fn error_message(t: usize, rng: &mut Rng) -> (String, &'static str) {
    let n = rng.below(100_000);
    let m = rng.below(1000);
    match t {
        0 => (format!("Read timed out after {m} ms calling payment-service for order {n}"), "java.net.SocketTimeoutException"),
        1 => (format!("Connection refused: db-{m}.internal/10.0.{}.{}:5432", m % 255, n % 255), "java.net.ConnectException"),
        2 => (format!("Could not commit JPA transaction for order {n}; nested exception is javax.persistence.RollbackException"), "org.springframework.transaction.TransactionSystemException"),
        3 => (format!("Token 0x{n:x}{m:x}ff expired at {n} for user {m}"), "com.shop.auth.TokenExpiredException"),
        4 => (format!("Insufficient stock for sku-{n}: requested {m}, available 0"), "com.shop.inventory.OutOfStockException"),
        5 => (format!("HikariPool-1 - Connection is not available, request timed out after {m}ms."), "java.sql.SQLTransientConnectionException"),
        6 => (format!("Unexpected response 503 from https://api.partner.example/v2/orders/{n}"), "org.springframework.web.client.HttpServerErrorException"),
        7 => (format!("Duplicate entry '{n}' for key 'orders.PRIMARY'"), "java.sql.SQLIntegrityConstraintViolationException"),
        8 => (format!("Failed to deserialize message {n:08x}-{m:04x}-4a2b-8c3d-1e2f3a4b5c6d from topic orders"), "com.fasterxml.jackson.databind.JsonMappingException"),
        _ => (format!("NullPointerException while pricing cart {n} (items={m})"), "java.lang.NullPointerException"),
    }
}

/// A realistic ECS error event (logback ECS encoder, flat keys) of
/// fingerprint `fp` (0..50: 10 messages × 5 loggers).
fn error_event(fp: usize, rng: &mut Rng) -> Value {
    let (message, error_type) = error_message(fp % 10, rng);
    let logger = LOGGERS[fp / 10 % LOGGERS.len()];
    let stack = format!(
        "{error_type}: {message}\n\tat {logger}.handle({}.java:{})\n\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)\n\tat javax.servlet.http.HttpServlet.service(HttpServlet.java:764)\n\tat org.apache.tomcat.util.threads.TaskThread$WrappingRunnable.run(TaskThread.java:61)\n\tat java.base/java.lang.Thread.run(Thread.java:833)",
        logger.rsplit('.').next().unwrap_or("X"),
        rng.below(400)
    );
    json!({
        "@timestamp": "2024-05-01T12:00:00.123Z",
        "log.level": "ERROR",
        "message": message,
        "ecs.version": "1.2.0",
        "service.name": "checkout",
        "service.environment": "prod",
        "event.dataset": "checkout.log",
        "process.thread.name": format!("http-nio-8080-exec-{}", rng.below(200)),
        "log.logger": logger,
        "trace.id": format!("{:016x}{:016x}", rng.next(), rng.next()),
        "transaction.id": format!("{:016x}", rng.next()),
        "host.name": "checkout-7d9f8b-x2k4p",
        "error.type": error_type,
        "error.message": message,
        "error.stack_trace": stack,
    })
}

fn dry_run_config() -> Config {
    Config::from_json(r#"{"dry_run": true}"#).expect("valid")
}

/// An outbox that takes everything and keeps nothing.
struct Discard;

impl Outbox for Discard {
    fn offer(&mut self, _: Outgoing) -> Result<(), Outgoing> {
        Ok(())
    }
}

fn at(ms: u64) -> Now {
    Now {
        mono_ms: ms,
        wall: SystemTime::UNIX_EPOCH
            + Duration::from_secs(1_700_000_000)
            + Duration::from_millis(ms),
    }
}

fn matching(c: &mut Criterion) {
    let matcher = Matcher::new(&[Level::Error, Level::Fatal].into_iter().collect());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut group = c.benchmark_group("match");
    for (name, levels) in [
        ("ecs_batch_125", ecs_levels(BATCH, &mut rng)),
        ("mixed_vocabulary_batch_125", mixed_levels(BATCH, &mut rng)),
    ] {
        let mut mask = [0u8; BATCH];
        let allocs = allocations_per_call(10_000, || {
            black_box(matcher.match_batch(levels.iter().copied(), &mut mask));
        });
        println!(
            "allocations: match/{name}: {:.3} per level",
            allocs / BATCH as f64
        );
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(name, |b| {
            b.iter(|| matcher.match_batch(black_box(&levels).iter().copied(), &mut mask))
        });
    }
    group.finish();
}

fn fingerprinting(c: &mut Criterion) {
    let config = Arc::new(dry_run_config());
    let shape = EventShape::new(config.event_refs());
    let mut rng = Rng(42);
    // A storm: 50 fingerprints, each in many variants.
    let events: Vec<MatchedEvent> = (0..1000)
        .map(|i| MatchedEvent::from_json(&shape, &error_event(i % 50, &mut rng)))
        .collect();
    let fingerprinter = Fingerprinter::new(config.rules[0].dedup_fields.clone());
    let counters = Arc::new(Counters::default());
    let mut alerter = Alerter::new(Arc::clone(&config), counters, at(0));
    let mut group = c.benchmark_group("fingerprint");
    group.throughput(Throughput::Elements(1));

    let mut i = 0;
    let allocs = allocations_per_call(10_000, || {
        black_box(fingerprinter.fingerprint(Level::Error, &events[i % events.len()]));
        i += 1;
    });
    println!("allocations: fingerprint/fingerprint: {allocs:.2} per event");
    group.bench_function("fingerprint", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            fingerprinter.fingerprint(Level::Error, &events[i % events.len()])
        })
    });

    // Fingerprint + dedup: after the first 50, every event is a repeat in an
    // open window, as in a storm.
    let mut i = 0;
    let allocs = allocations_per_call(10_000, || {
        let e = &events[i % events.len()];
        let fp = fingerprinter.fingerprint(Level::Error, e);
        black_box(alerter.on_event(Level::Error, &fp, e, at(1), &mut Discard));
        i += 1;
    });
    println!("allocations: fingerprint/fingerprint_dedup: {allocs:.2} per event");
    group.bench_function("fingerprint_dedup", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            let e = &events[i % events.len()];
            let fp = fingerprinter.fingerprint(Level::Error, e);
            alerter.on_event(Level::Error, &fp, e, at(1), &mut Discard)
        })
    });
    group.finish();
}

fn engine_submit(c: &mut Criterion) {
    let log = Arc::new(BufferedLog::new(1024));
    let engine = Engine::start(dry_run_config(), log).expect("engine starts");
    let mut rng = Rng(7);
    let json_events: Vec<Value> = (0..1000).map(|i| error_event(i % 50, &mut rng)).collect();
    let events: Vec<MatchedEvent> = json_events
        .iter()
        .map(|e| engine.event_from_json(e))
        .collect();
    // What the JNI library receives today: every event reference's value as JSON text.
    let refs = engine.event_refs().to_vec();
    let shape = EventShape::new(refs.clone());
    let texts: Vec<Vec<Option<String>>> = json_events
        .iter()
        .map(|e| {
            let m = MatchedEvent::from_json(&shape, e);
            refs.iter()
                .map(|r| slack_alert_event::Fields::get(&m, r).map(|v| v.to_string()))
                .collect()
        })
        .collect();
    let key_refs = engine.key_refs().to_vec();
    let key_shape = EventShape::new(key_refs.clone());
    let key_texts: Vec<Vec<Option<String>>> = json_events
        .iter()
        .map(|e| {
            let m = MatchedEvent::from_json(&key_shape, e);
            key_refs
                .iter()
                .map(|r| slack_alert_event::Fields::get(&m, r).map(|v| v.to_string()))
                .collect()
        })
        .collect();
    println!(
        "field references per matched event: {} (all), {} (keys)",
        refs.len(),
        key_refs.len()
    );

    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    let allocs = allocations_per_call(10_000, || {
        black_box(engine.submit(&events[i % events.len()]));
        i += 1;
    });
    println!("allocations: engine/submit: {allocs:.2} per event");
    group.bench_function("submit", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            engine.submit(&events[i % events.len()])
        })
    });

    let decode_and_submit = |values: &Vec<Option<String>>| {
        let decoded = values
            .iter()
            .map(|t| {
                t.as_deref()
                    .and_then(|t| serde_json::from_str::<Value>(t).ok())
            })
            .collect();
        engine.submit(&engine.event_from_values(decoded))
    };
    let mut i = 0;
    let allocs = allocations_per_call(10_000, || {
        black_box(decode_and_submit(&texts[i % texts.len()]));
        i += 1;
    });
    println!("allocations: engine/decode_all_refs_and_submit: {allocs:.2} per event");
    group.bench_function("decode_all_refs_and_submit", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            decode_and_submit(&texts[i % texts.len()])
        })
    });

    // What the JNI library receives for a repeat (the KEYS stage): the key
    // fields only.
    let decode_keys_and_submit = |values: &Vec<Option<String>>| {
        let decoded = values
            .iter()
            .map(|t| {
                t.as_deref()
                    .and_then(|t| serde_json::from_str::<Value>(t).ok())
            })
            .collect();
        engine.submit_keys(&engine.event_from_key_values(decoded))
    };
    let mut i = 0;
    let allocs = allocations_per_call(10_000, || {
        black_box(decode_keys_and_submit(&key_texts[i % key_texts.len()]));
        i += 1;
    });
    println!("allocations: engine/decode_keys_and_submit_keys: {allocs:.2} per event");
    group.bench_function("decode_keys_and_submit_keys", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            decode_keys_and_submit(&key_texts[i % key_texts.len()])
        })
    });
    group.finish();
    engine.shutdown();
}

/// A realistic configuration of several rules (issue 8): one per service
/// with `equals`, one that leaves out timeouts with an `exclude` regex, a
/// threshold per service, and a flatline rule that watches every service
/// logging at INFO or worse (so the union of levels is INFO and above).
const RULES_CONFIG: &str = r##"{
    "dry_run": true,
    "rules": [
        {"name": "checkout", "equals": {"[service.name]": "checkout"}, "channel": "#checkout"},
        {"name": "not_timeouts", "exclude": {"[message]": "(?i)timed? ?out"}},
        {"name": "bursts", "threshold": 20, "threshold_window": "1m", "group_by": "[service.name]"},
        {"name": "silent", "type": "flatline", "silence": "10m", "min_level": "INFO",
         "group_by": "[service.name]"}
    ]
}"##;

const SERVICES: [&str; 3] = ["checkout", "payments", "inventory"];

/// The same workloads as `match` and `engine`, through [`RULES_CONFIG`]:
/// the batch matcher on the union of the rules' levels, and `submit` of a
/// matched event through every rule.
fn rules(c: &mut Criterion) {
    let config = Config::from_json(RULES_CONFIG).expect("valid");
    let log = Arc::new(BufferedLog::new(1024));
    let engine = Engine::start(config, log).expect("engine starts");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut group = c.benchmark_group("rules");

    // (a) The union's matcher is the same lookup table as one rule's.
    let matcher = engine.matcher();
    for (name, levels) in [
        ("match_union_ecs_batch_125", ecs_levels(BATCH, &mut rng)),
        (
            "match_union_mixed_vocabulary_batch_125",
            mixed_levels(BATCH, &mut rng),
        ),
    ] {
        let mut mask = [0u8; BATCH];
        let allocs = allocations_per_call(10_000, || {
            black_box(matcher.match_batch(levels.iter().copied(), &mut mask));
        });
        println!(
            "allocations: rules/{name}: {:.3} per level",
            allocs / BATCH as f64
        );
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(name, |b| {
            b.iter(|| matcher.match_batch(black_box(&levels).iter().copied(), &mut mask))
        });
    }

    // (b) Matched events (ERROR, three services, 50 fingerprints each)
    // through every rule: conditions, exclude regex, threshold, flatline
    // groups, then dedup per alert rule.
    let json_events: Vec<Value> = (0..1000)
        .map(|i| {
            let mut e = error_event(i % 50, &mut rng);
            e["service.name"] = json!(SERVICES[i % SERVICES.len()]);
            e
        })
        .collect();
    let events: Vec<MatchedEvent> = json_events
        .iter()
        .map(|e| engine.event_from_json(e))
        .collect();
    let keys: Vec<MatchedEvent> = json_events
        .iter()
        .map(|e| engine.event_from_key_values(key_values(engine.key_refs(), e)))
        .collect();
    println!(
        "field references per matched event (rules): {} (all), {} (keys)",
        engine.event_refs().len(),
        engine.key_refs().len()
    );
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    let allocs = allocations_per_call(10_000, || {
        black_box(engine.submit(&events[i % events.len()]));
        i += 1;
    });
    println!("allocations: rules/submit: {allocs:.2} per event");
    group.bench_function("submit", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            engine.submit(&events[i % events.len()])
        })
    });
    // What the JNI library does first for every matched event: decide on
    // the key fields alone (a repeat needs no more).
    let mut i = 0;
    let allocs = allocations_per_call(10_000, || {
        black_box(engine.submit_keys(&keys[i % keys.len()]));
        i += 1;
    });
    println!("allocations: rules/submit_keys: {allocs:.2} per event");
    group.bench_function("submit_keys", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            engine.submit_keys(&keys[i % keys.len()])
        })
    });
    group.finish();
    engine.shutdown();
}

/// What opening an incident costs the decision core, which the live engine
/// runs under its lock: every event a new problem, with a token for each (one
/// a second, the clock a second on), so that each one's message is built and
/// queued. The messages are dropped outside the measurement, as the sender
/// thread would deal with them.
fn incidents(c: &mut Criterion) {
    let config = Arc::new(
        Config::try_from(json!({
            "dry_run": true,
            "rate_limit": 60,
            "burst": 1,
            "dedup_window": "1m",
        }))
        .expect("valid"),
    );
    let shape = EventShape::new(config.event_refs());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let events: Vec<MatchedEvent> = (0..1000usize)
        .map(|i| {
            let mut e = error_event(i % 50, &mut rng);
            // Letters only: the normaliser keeps them, so each is its own problem.
            let word: String = (0..4)
                .map(|k| char::from(b'a' + (i / 26usize.pow(k) % 26) as u8))
                .collect();
            e["message"] = json!(format!("{} {word}", e["message"].as_str().unwrap_or("")));
            MatchedEvent::from_json(&shape, &e)
        })
        .collect();
    let mut rules = RuleSet::new(Arc::clone(&config), Arc::new(Counters::default()), at(0));
    let mut group = c.benchmark_group("incidents");
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    let (mut opened, mut other) = (0u64, 0u64);
    group.bench_function("open", |b| {
        b.iter_batched_ref(
            Vec::<Outgoing>::new,
            |sent| {
                i += 1;
                let now = at(i as u64 * 1000);
                let event = &events[i % events.len()];
                let level = rules.matching().level(event);
                let decision = rules.on_event(level, event, now, sent);
                if decision == slack_alert_engine::Decision::Alerted {
                    opened += 1;
                } else {
                    other += 1;
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
    println!("incidents/open: {opened} alerted, {other} decided otherwise");
}

/// What the engine does under its lock per event and per tick at the top of
/// the allowed ranges: `would_reach` of a group holding 999,998 matches of a
/// `threshold => 1000000`, and the timer's `Flatline::due` over 100,000
/// groups of which none is due (every tick but the rare one).
fn limits(c: &mut Criterion) {
    let mut group = c.benchmark_group("limits");
    group.throughput(Throughput::Elements(1));
    let n = 1_000_000u32;
    let mut threshold = Threshold::new(n, 3_600_000, 10);
    for ms in 0..u64::from(n) - 2 {
        threshold.observe(7, ms);
    }
    group.bench_function("threshold_1m_would_reach", |b| {
        b.iter(|| black_box(threshold.would_reach(black_box(7), 1_000_000)))
    });
    let mut flatline = Flatline::new(Duration::from_secs(600), 100_000);
    for i in 0..100_000u64 {
        flatline.observe(&format!("host-{i}"), at(i));
    }
    group.bench_function("flatline_100k_groups_due_none", |b| {
        b.iter(|| black_box(flatline.due(at(black_box(100_000)))))
    });
    group.finish();
}

/// The values of `refs` in `event`, in order (as the JNI library passes them).
fn key_values(refs: &[String], event: &Value) -> Vec<Option<Value>> {
    let shape = EventShape::new(refs.to_vec());
    let m = MatchedEvent::from_json(&shape, event);
    refs.iter()
        .map(|r| slack_alert_event::Fields::get(&m, r).cloned())
        .collect()
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = matching, fingerprinting, engine_submit, rules, incidents, limits
}

/// Runs `f` `n` times; under `valgrind --tool=callgrind --toggle-collect=*measured*`
/// only this is counted, so instructions per call are stable whatever else
/// the machine is doing.
#[inline(never)]
fn measured(n: u64, mut f: impl FnMut()) {
    for _ in 0..n {
        f();
    }
}

/// `CALLGRIND_CASE=<case> valgrind --tool=callgrind --toggle-collect='*measured*' <bench binary>`
/// runs one case 100,000 times inside [`measured`] instead of criterion.
fn callgrind(case: &str) {
    const N: u64 = 100_000;
    let matcher = Matcher::new(&[Level::Error, Level::Fatal].into_iter().collect());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let ecs = ecs_levels(BATCH, &mut rng);
    let mixed = mixed_levels(BATCH, &mut rng);
    let config = Arc::new(dry_run_config());
    let shape = EventShape::new(config.event_refs());
    let events: Vec<MatchedEvent> = (0..1000)
        .map(|i| MatchedEvent::from_json(&shape, &error_event(i % 50, &mut rng)))
        .collect();
    let fingerprinter = Fingerprinter::new(config.rules[0].dedup_fields.clone());
    let mut alerter = Alerter::new(Arc::clone(&config), Arc::new(Counters::default()), at(0));
    let mut mask = [0u8; BATCH];
    let mut i = 0;
    let per = match case {
        "match_ecs" => {
            measured(N, || {
                black_box(matcher.match_batch(black_box(&ecs).iter().copied(), &mut mask));
            });
            BATCH as u64
        }
        "match_mixed" => {
            measured(N, || {
                black_box(matcher.match_batch(black_box(&mixed).iter().copied(), &mut mask));
            });
            BATCH as u64
        }
        "fingerprint" => {
            measured(N, || {
                i += 1;
                black_box(fingerprinter.fingerprint(Level::Error, &events[i % events.len()]));
            });
            1
        }
        "fingerprint_dedup" => {
            measured(N, || {
                i += 1;
                let e = &events[i % events.len()];
                let fp = fingerprinter.fingerprint(Level::Error, e);
                black_box(alerter.on_event(Level::Error, &fp, e, at(1), &mut Discard));
            });
            1
        }
        other => panic!("unknown CALLGRIND_CASE {other}"),
    };
    println!("{case}: {N} calls of {per} items each");
}

fn main() {
    match std::env::var("CALLGRIND_CASE") {
        Ok(case) => callgrind(&case),
        Err(_) => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
