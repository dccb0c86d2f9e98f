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

use criterion::measurement::WallTime;
use criterion::{criterion_group, BatchSize, BenchmarkGroup, Criterion, Throughput};
use serde_json::{json, Value};
use slack_alert_engine::Flatline;
use slack_alert_engine::Threshold;
use slack_alert_engine::{
    Alerter, BufferedLog, Config, Counters, Decision, Engine, EventShape, Fingerprinter, Level,
    MatchedEvent, Matcher, Now, Outbox, Outgoing, RuleSet,
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
fn allocations_per_call<R>(n: u64, mut f: impl FnMut() -> R) -> f64 {
    black_box(f());
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..n {
        black_box(f());
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / n as f64
}

/// `f` on each of `inputs` in turn, round and round, so that no case is
/// measured on one warm input alone.
fn in_turn<'a, T, R>(inputs: &'a [T], mut f: impl FnMut(&T) -> R + 'a) -> impl FnMut() -> R + 'a {
    let mut i = 0;
    move || {
        i += 1;
        f(&inputs[i % inputs.len()])
    }
}

/// Prints the allocations per event of `f` over `inputs` in turn
/// (`allocations: {label}/{name}`), then benches it the same way as `name`.
fn bench_per_event<T, R>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    label: &str,
    name: &str,
    inputs: &[T],
    mut f: impl FnMut(&T) -> R,
) {
    let allocs = allocations_per_call(10_000, in_turn(inputs, &mut f));
    println!("allocations: {label}/{name}: {allocs:.2} per event");
    group.bench_function(name, |b| b.iter(in_turn(inputs, &mut f)));
}

/// Prints the allocations per level of the batch matcher over `levels`
/// (`allocations: {label}/{name}`), then benches it as `name`.
fn bench_match_batch(
    group: &mut BenchmarkGroup<'_, WallTime>,
    label: &str,
    name: &str,
    matcher: &Matcher,
    levels: &[&[u8]],
) {
    let mut mask = [0u8; BATCH];
    let allocs = allocations_per_call(10_000, || {
        matcher.match_batch(levels.iter().copied(), &mut mask)
    });
    println!(
        "allocations: {label}/{name}: {:.3} per level",
        allocs / BATCH as f64
    );
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function(name, |b| {
        b.iter(|| matcher.match_batch(black_box(levels).iter().copied(), &mut mask))
    });
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

/// A storm: 1000 error events of 50 fingerprints, each in many variants.
fn storm(rng: &mut Rng) -> Vec<Value> {
    (0..1000).map(|i| error_event(i % 50, rng)).collect()
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
        bench_match_batch(&mut group, "match", name, &matcher, &levels);
    }
    group.finish();
}

/// The dry-run configuration's first rule over a [`storm`]: its events,
/// fingerprinter and alerter.
struct Dedup {
    events: Vec<MatchedEvent>,
    fingerprinter: Fingerprinter,
    alerter: Alerter,
}

impl Dedup {
    fn new(rng: &mut Rng) -> Self {
        let config = Arc::new(dry_run_config());
        let shape = EventShape::new(config.event_refs());
        let events = storm(rng)
            .iter()
            .map(|e| MatchedEvent::from_json(&shape, e))
            .collect();
        let fingerprinter = Fingerprinter::new(config.rules[0].dedup_fields.clone());
        let alerter = Alerter::new(Arc::clone(&config), Arc::new(Counters::default()), at(0));
        Dedup {
            events,
            fingerprinter,
            alerter,
        }
    }

    /// Fingerprint + dedup: after the first 50, every event is a repeat in
    /// an open window, as in a storm.
    fn fingerprint_dedup(
        fingerprinter: &Fingerprinter,
        alerter: &mut Alerter,
        e: &MatchedEvent,
    ) -> Decision {
        let fp = fingerprinter.fingerprint(Level::Error, e);
        alerter.on_event(Level::Error, &fp, e, at(1), &mut Discard)
    }
}

fn fingerprinting(c: &mut Criterion) {
    let Dedup {
        events,
        fingerprinter,
        mut alerter,
    } = Dedup::new(&mut Rng(42));
    let mut group = c.benchmark_group("fingerprint");
    group.throughput(Throughput::Elements(1));
    bench_per_event(&mut group, "fingerprint", "fingerprint", &events, |e| {
        fingerprinter.fingerprint(Level::Error, e)
    });
    bench_per_event(
        &mut group,
        "fingerprint",
        "fingerprint_dedup",
        &events,
        |e| Dedup::fingerprint_dedup(&fingerprinter, &mut alerter, e),
    );
    group.finish();
}

fn engine_submit(c: &mut Criterion) {
    let log = Arc::new(BufferedLog::new(1024));
    let engine = Engine::start(dry_run_config(), log).expect("engine starts");
    let json_events = storm(&mut Rng(7));
    let events: Vec<MatchedEvent> = json_events
        .iter()
        .map(|e| engine.event_from_json(e))
        .collect();
    // What the JNI library receives today: every event reference's value as JSON text.
    let texts = ref_texts(engine.event_refs(), &json_events);
    let key_texts = ref_texts(engine.key_refs(), &json_events);
    println!(
        "field references per matched event: {} (all), {} (keys)",
        engine.event_refs().len(),
        engine.key_refs().len()
    );

    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(1));
    bench_per_event(&mut group, "engine", "submit", &events, |e| {
        engine.submit(e)
    });
    bench_per_event(
        &mut group,
        "engine",
        "decode_all_refs_and_submit",
        &texts,
        |values| engine.submit(&engine.event_from_values(decoded(values))),
    );
    // What the JNI library receives for a repeat (the KEYS stage): the key
    // fields only.
    bench_per_event(
        &mut group,
        "engine",
        "decode_keys_and_submit_keys",
        &key_texts,
        |values| engine.submit_keys(&engine.event_from_key_values(decoded(values))),
    );
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
        bench_match_batch(&mut group, "rules", name, matcher, &levels);
    }

    // (b) Matched events (ERROR, three services, 50 fingerprints each)
    // through every rule: conditions, exclude regex, threshold, flatline
    // groups, then dedup per alert rule.
    let mut json_events = storm(&mut rng);
    for (i, e) in json_events.iter_mut().enumerate() {
        e["service.name"] = json!(SERVICES[i % SERVICES.len()]);
    }
    let events: Vec<MatchedEvent> = json_events
        .iter()
        .map(|e| engine.event_from_json(e))
        .collect();
    let keys: Vec<MatchedEvent> = json_events
        .iter()
        .map(|e| engine.event_from_key_values(ref_values(engine.key_refs(), e)))
        .collect();
    println!(
        "field references per matched event (rules): {} (all), {} (keys)",
        engine.event_refs().len(),
        engine.key_refs().len()
    );
    group.throughput(Throughput::Elements(1));
    bench_per_event(&mut group, "rules", "submit", &events, |e| engine.submit(e));
    // What the JNI library does first for every matched event: decide on
    // the key fields alone (a repeat needs no more).
    bench_per_event(&mut group, "rules", "submit_keys", &keys, |e| {
        engine.submit_keys(e)
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
    let events: Vec<MatchedEvent> = storm(&mut rng)
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
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
                if decision == Decision::Alerted {
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
fn ref_values(refs: &[String], event: &Value) -> Vec<Option<Value>> {
    let shape = EventShape::new(refs.to_vec());
    let m = MatchedEvent::from_json(&shape, event);
    refs.iter()
        .map(|r| slack_alert_event::Fields::get(&m, r).cloned())
        .collect()
}

/// The values of `refs` in each of `events` as JSON text, as the JNI
/// library receives them.
fn ref_texts(refs: &[String], events: &[Value]) -> Vec<Vec<Option<String>>> {
    events
        .iter()
        .map(|e| {
            ref_values(refs, e)
                .into_iter()
                .map(|v| v.map(|v| v.to_string()))
                .collect()
        })
        .collect()
}

/// What the engine decodes from the JNI library's JSON texts.
fn decoded(texts: &[Option<String>]) -> Vec<Option<Value>> {
    texts
        .iter()
        .map(|t| {
            t.as_deref()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
        })
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
fn measured<R>(n: u64, mut f: impl FnMut() -> R) {
    for _ in 0..n {
        black_box(f());
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
    let Dedup {
        events,
        fingerprinter,
        mut alerter,
    } = Dedup::new(&mut rng);
    let mut mask = [0u8; BATCH];
    let per = match case {
        "match_ecs" | "match_mixed" => {
            let levels = if case == "match_ecs" { &ecs } else { &mixed };
            measured(N, || {
                matcher.match_batch(black_box(levels).iter().copied(), &mut mask)
            });
            BATCH as u64
        }
        "fingerprint" => {
            measured(
                N,
                in_turn(&events, |e| fingerprinter.fingerprint(Level::Error, e)),
            );
            1
        }
        "fingerprint_dedup" => {
            measured(
                N,
                in_turn(&events, |e| {
                    Dedup::fingerprint_dedup(&fingerprinter, &mut alerter, e)
                }),
            );
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
