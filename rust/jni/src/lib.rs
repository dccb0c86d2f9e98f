//! JNI bindings that let the Logstash Java shim drive the slack_alert engine.
//!
//! The Java class `io.slackalert.logstash.NativeEngine` declares the native
//! methods implemented here. Java never holds a pointer: [`create`] returns an
//! opaque id into a registry (see [`handles`]), every other call looks the id
//! up and works on its own reference to the engine, and `close` unregisters it.
//! Level values of a whole batch cross in one call through a reused direct
//! `ByteBuffer` (see [`slots`]), which sorts them into alert candidates,
//! heartbeats (events only a flatline rule takes: they send their group and
//! condition fields, once per run of equal ones, through `heartbeats`) and
//! the rest; only alert candidates send field values (see
//! [`values`]): first the few a decision reads, all of them in one call
//! through a second reused direct buffer (`submitKeys`), then, in a third
//! call, every field of the events the engine asks for, those whose message
//! is posted (`submit`). A batch costs at most three crossings whatever its
//! size, and in an error storm almost every matched event is a repeat that
//! needs its key fields only.
//!
//! Every entry point runs inside [`std::panic::catch_unwind`]: a panic never
//! crosses into the JVM. It becomes an `IllegalStateException` whose message
//! starts with `slack_alert native failure:` and is counted by the engine's
//! `internal_errors` counter.
//!
//! | Java (`static native`)                         | result                                             |
//! |------------------------------------------------|----------------------------------------------------|
//! | `void validate(String configJson)`             | nothing; `IllegalArgumentException` naming a bad option, as `create` would; starts no engine |
//! | `long create(String configJson)`               | handle; `IllegalArgumentException` naming a bad option, `IllegalStateException` if the engine cannot start |
//! | `String[] levelRefs(long h)` / `eventRefs(long h)` | field references; `null` if closed             |
//! | `String catalog()`                             | one JSON document, read once when the library loads: every option of the engine's table (name, Logstash type, scope, typed default), the counter names, the per-rule counter names, and the most characters of one string value the engine keeps (see [`catalog`]) |
//! | `long[] counters(long h)`                      | counter values in the catalog's `counters` order; `null` if closed |
//! | `int matchBatch(long h, ByteBuffer slots, int count)` | candidates (mask `1`: an alert rule takes the level; `2`: only flatline rules do, a heartbeat; `0`: none), `\| LOGS_PENDING`; `-1` if closed |
//! | `String[] keyRefs(long h)`                     | the subset of `eventRefs` a decision reads; `null` if closed |
//! | `int submitKeys(long h, ByteBuffer fields, int length, int eventCount, ByteBuffer slots)` | events the engine did not decide (mask `1` in `slots`; `0` decided, no alert rule matched; `2` decided, matched), `\| LOGS_PENDING`; `-1` if closed |
//! | `int submit(long h, String[] values, int eventCount)` | events submitted, `\| LOGS_PENDING`; `-1` if closed |
//! | `String[] heartbeatRefs(long h)`               | the fields a heartbeat (mask `2`) carries: the flatline rules' groups and condition fields; `null` if closed |
//! | `int[] heartbeatFallbacks(long h)`             | per `heartbeatRefs` entry, the entry it only backs up (read only when that one names nothing), or `-1`; `null` if closed |
//! | `int heartbeats(long h, ByteBuffer fields, int length, int eventCount)` | heartbeats taken (per heartbeat the values of `heartbeatRefs` then how many events it stands for, encoded as for `submitKeys`), `\| LOGS_PENDING`; `-1` if closed |
//! | `String[] ruleNames(long h)`                   | rule names in configuration order; `null` if closed |
//! | `long[] ruleCounters(long h)`                  | rules × the catalog's `rule_counters`, row-major; `null` if closed |
//! | `boolean admitsMissingLevel(long h)`           | whether events without a level are heartbeats (mask `2`: a flatline rule without levels); else they are no candidates; `false` if closed |
//! | `String[] drainLogs(long h)`                   | `[level, message, …]`; empty if closed             |
//! | `String[] close(long h)`                       | `[report, counters, ruleCounters, level, message, …]`; `null` if already closed |
//! | `void injectPanic(long h, int countdown)`      | test-only fault injection                          |
//!
//! The buffer layout is documented in [`slots`]:
//!
//! ```
//! use slack_alert_jni::slots;
//! assert_eq!(slots::SLOT_SIZE, 32);
//! assert_eq!(slots::MASK_OFFSET, 1024 * 32);
//! assert_eq!(slots::BUFFER_SIZE, 1024 * 33);
//! assert_eq!(slots::LOGS_PENDING, 0x4000_0000);
//! ```
//!
//! [`create`]: Java_io_slackalert_logstash_NativeEngine_create

pub mod batch;
pub mod catalog;
pub mod handles;
pub mod slots;
pub mod values;

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Once};

use jni::objects::{JByteBuffer, JClass, JObject, JObjectArray, JString};
use jni::sys::{
    jboolean, jint, jintArray, jlong, jlongArray, jobjectArray, jstring, JNI_FALSE, JNI_TRUE,
};
use jni::JNIEnv;
use once_cell::sync::Lazy;
use slack_alert_engine::{BufferedLog, Config, Decision, Engine, LogSink};

use crate::handles::Registry;
#[cfg(test)]
use crate::slots::{ALERT_CANDIDATE, HEARTBEAT_ONLY, NOT_CANDIDATE};
use crate::slots::{CLOSED, DECIDED_MATCHED, DECIDED_UNMATCHED, LOGS_PENDING, UNDECIDED};

/// Log lines kept for the shim between drains.
const LOG_CAPACITY: usize = 256;

/// One running engine and what the JNI layer keeps beside it.
struct Handle {
    engine: Engine,
    log: Arc<BufferedLog>,
    /// Test-only fault injection: when positive, counts down on each
    /// `matchBatch` and the call that takes it from 1 to 0 panics.
    panic_countdown: AtomicI64,
}

impl Handle {
    /// `LOGS_PENDING` if the engine has log lines for the shim, else 0.
    fn pending(&self) -> jint {
        if self.log.has_lines() {
            LOGS_PENDING
        } else {
            0
        }
    }

    /// Returns true if and only if this call is the one an `injectPanic`
    /// asked to fail.
    fn injected_panic_due(&self) -> bool {
        self.panic_countdown
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                (c > 0).then_some(c - 1)
            })
            == Ok(1)
    }
}

static HANDLES: Lazy<Registry<Handle>> = Lazy::new(Registry::new);

/// How an entry point fails, as the Java exception it becomes.
enum Failure {
    IllegalArgument(String),
    IllegalState(String),
    /// A JNI call failed; usually a Java exception is already pending.
    Jni(jni::errors::Error),
}

impl From<jni::errors::Error> for Failure {
    fn from(e: jni::errors::Error) -> Failure {
        Failure::Jni(e)
    }
}

impl From<slots::SlotError> for Failure {
    fn from(e: slots::SlotError) -> Failure {
        Failure::IllegalArgument(e.to_string())
    }
}

thread_local! {
    /// Set while this thread runs an entry point, so the panic hook knows the
    /// panic will be caught and reported as an exception.
    static IN_ENTRY: Cell<bool> = const { Cell::new(false) };
    /// The last caught panic's message and location, from the hook.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once, a panic hook that keeps panics inside entry points off
/// stderr (they become Java exceptions carrying the same text) and leaves
/// every other panic, e.g. on an engine thread, to the previous hook.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_ENTRY.with(Cell::get) {
                let message = payload_text(info.payload());
                let text = match info.location() {
                    Some(l) => format!("{message} at {}:{}", l.file(), l.line()),
                    None => message,
                };
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}

/// Runs one entry point: contains panics, turns failures into Java
/// exceptions, and returns `fallback` whenever an exception is thrown.
/// `handle` is the id the call is about, so a panic can be counted.
fn entry<'local, R>(
    env: &mut JNIEnv<'local>,
    handle: Option<jlong>,
    fallback: R,
    body: impl FnOnce(&mut JNIEnv<'local>) -> Result<R, Failure>,
) -> R {
    install_panic_hook();
    IN_ENTRY.with(|f| f.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| body(env)));
    IN_ENTRY.with(|f| f.set(false));
    match outcome {
        Ok(Ok(value)) => value,
        Ok(Err(failure)) => {
            throw(env, failure);
            fallback
        }
        Err(payload) => {
            let text = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| payload_text(payload.as_ref()));
            if let Some(h) = handle.and_then(|id| HANDLES.get(id)) {
                h.engine.record_internal_error();
            }
            throw(
                env,
                Failure::IllegalState(format!("slack_alert native failure: {text}")),
            );
            fallback
        }
    }
}

/// Runs an entry point about the engine behind `handle`: [`entry`] (so a
/// panic is contained and counted on that engine), then `body` with the
/// handle, or `closed` without calling `body` if the handle is closed or
/// unknown. `closed` is also what a thrown exception returns; Java ignores
/// that value, since it sees the exception.
///
/// Entry points that take a batch (`matchBatch`, `submitKeys`, `heartbeats`,
/// `submit`) call [`entry`] and look the handle up themselves once their
/// arguments are checked, so a bad argument raises its exception even on a
/// closed handle.
fn with_handle<'local, R: Copy>(
    env: &mut JNIEnv<'local>,
    handle: jlong,
    closed: R,
    body: impl FnOnce(&mut JNIEnv<'local>, &Handle) -> Result<R, Failure>,
) -> R {
    entry(env, Some(handle), closed, |env| match HANDLES.get(handle) {
        Some(h) => body(env, &h),
        None => Ok(closed),
    })
}

/// Raises `failure` in the JVM unless an exception is already pending (which
/// then says more than we could).
fn throw(env: &mut JNIEnv<'_>, failure: Failure) {
    if env.exception_check().unwrap_or(false) {
        return;
    }
    let (class, message) = match failure {
        Failure::IllegalArgument(m) => ("java/lang/IllegalArgumentException", m),
        Failure::IllegalState(m) => ("java/lang/IllegalStateException", m),
        Failure::Jni(e) => (
            "java/lang/IllegalStateException",
            format!("slack_alert native failure: JNI call failed: {e}"),
        ),
    };
    // If even this fails the JVM is out of memory and has its own exception pending.
    let _ = env.throw_new(class, message);
}

/// A Java `String[]` of `items`.
fn string_array<'local, 'a>(
    env: &mut JNIEnv<'local>,
    items: impl ExactSizeIterator<Item = &'a str>,
) -> Result<jobjectArray, Failure> {
    let len = jint::try_from(items.len())
        .map_err(|_| Failure::IllegalState("too many strings for a Java array".into()))?;
    let array = env.new_object_array(len, "java/lang/String", JObject::null())?;
    for (i, item) in items.enumerate() {
        let s = env.new_string(item)?;
        env.set_object_array_element(&array, i as jint, &s)?;
        env.delete_local_ref(s)?;
    }
    Ok(array.into_raw())
}

/// `[level, message, level, message, …]` of every buffered log line.
fn drained_pairs(log: &BufferedLog) -> Vec<String> {
    log.drain()
        .into_iter()
        .flat_map(|(level, message)| [level.to_string(), message])
        .collect()
}

/// The configuration in `config_json`, checked; the error names the option
/// and never repeats the webhook URL.
fn parse_config(env: &mut JNIEnv<'_>, config_json: &JString<'_>) -> Result<Config, Failure> {
    if config_json.is_null() {
        return Err(Failure::IllegalArgument(
            "config: the configuration JSON must not be null".into(),
        ));
    }
    let json: String = env.get_string(config_json)?.into();
    Config::from_json(&json).map_err(|e| Failure::IllegalArgument(e.to_string()))
}

/// `void validate(String configJson)`: checks the configuration exactly as
/// `create` does, and starts nothing. Logstash constructs a filter before it
/// validates the pipeline and never closes one it refuses, so the shim checks
/// here in its constructor and leaves `create` (and the engine's threads) to
/// the filter's first use.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_validate<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    config_json: JString<'local>,
) {
    entry(&mut env, None, (), |env| {
        parse_config(env, &config_json).map(drop)
    })
}

/// `long create(String configJson)`: validates the configuration, starts an
/// engine and returns its handle.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_create<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    config_json: JString<'local>,
) -> jlong {
    entry(&mut env, None, 0, |env| {
        let config = parse_config(env, &config_json)?;
        let log = Arc::new(BufferedLog::new(LOG_CAPACITY));
        let sink: Arc<dyn LogSink> = log.clone();
        let engine =
            Engine::start(config, sink).map_err(|e| Failure::IllegalState(e.to_string()))?;
        let id = HANDLES.insert(Handle {
            engine,
            log,
            panic_countdown: AtomicI64::new(0),
        });
        Ok(id as jlong)
    })
}

/// `String[] levelRefs(long h)`: where to read the level from, in order.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_levelRefs<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    with_handle(&mut env, handle, ptr::null_mut(), |env, h| {
        string_array(env, h.engine.level_refs().iter().map(String::as_str))
    })
}

/// `String[] eventRefs(long h)`: the fields a matched event must carry, in
/// the order `submit` expects their values.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_eventRefs<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    with_handle(&mut env, handle, ptr::null_mut(), |env, h| {
        string_array(env, h.engine.event_refs().iter().map(String::as_str))
    })
}

/// `String catalog()`: the options, counters and value bound as one JSON
/// document ([`catalog`]); the shim reads it once per class loader, right
/// after loading the library, and builds its `configSchema()` from it.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_catalog<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
) -> jstring {
    entry(&mut env, None, ptr::null_mut(), |env| {
        let text = catalog::catalog_json().map_err(Failure::IllegalState)?;
        Ok(env.new_string(text)?.into_raw())
    })
}

/// A Java `long[]` of `values` (past `i64::MAX`, which no counter reaches, saturated).
fn long_array(env: &mut JNIEnv<'_>, values: Vec<u64>) -> Result<jlongArray, Failure> {
    let values: Vec<jlong> = values
        .into_iter()
        .map(|v| jlong::try_from(v).unwrap_or(jlong::MAX))
        .collect();
    let len = jint::try_from(values.len())
        .map_err(|_| Failure::IllegalState("too many counters for a Java array".into()))?;
    let array = env.new_long_array(len)?;
    env.set_long_array_region(&array, 0, &values)?;
    Ok(array.into_raw())
}

/// Comma-separated decimals, as `close` returns counters.
fn csv(values: &[u64]) -> String {
    values
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `long[] counters(long h)`: counter values in the catalog's `counters` order.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_counters<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlongArray {
    with_handle(&mut env, handle, ptr::null_mut(), |env, h| {
        long_array(env, h.engine.counters())
    })
}

/// `String[] ruleNames(long h)`: the rules' names in configuration order
/// (`default` when the options make one rule), as the per-rule gauges are
/// named.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_ruleNames<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    with_handle(&mut env, handle, ptr::null_mut(), |env, h| {
        let names = h.engine.rule_names();
        string_array(env, names.iter().map(String::as_str))
    })
}

/// `long[] ruleCounters(long h)`: `ruleNames().length ×` the catalog's `rule_counters`
/// values, row-major (rule after rule).
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_ruleCounters<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlongArray {
    with_handle(&mut env, handle, ptr::null_mut(), |env, h| {
        long_array(env, h.engine.rule_counters())
    })
}

/// `boolean admitsMissingLevel(long h)`: true if and only if an event without
/// a usable level is a candidate (a flatline rule without levels watches every
/// event); `matchBatch` then marks such slots, and the shim need not ask.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_admitsMissingLevel<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jboolean {
    with_handle(&mut env, handle, JNI_FALSE, |_, h| {
        Ok(if h.engine.admits_missing_level() {
            JNI_TRUE
        } else {
            JNI_FALSE
        })
    })
}

/// `int matchBatch(long h, ByteBuffer slots, int count)`: sorts the levels in
/// the first `count` slots and writes the mask (see [`slots`]): 1 for an
/// alert candidate, 2 for a heartbeat (only flatline rules take it), 0 for
/// the rest. Returns how many are candidates of either kind.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_matchBatch<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    buffer: JByteBuffer<'local>,
    count: jint,
) -> jint {
    entry(&mut env, Some(handle), CLOSED, |env| {
        let count = slots::check_count(count.into())?;
        if buffer.is_null() {
            return Err(Failure::IllegalArgument(
                "slots: the slot buffer must not be null".into(),
            ));
        }
        let address = env.get_direct_buffer_address(&buffer).map_err(|_| {
            Failure::IllegalArgument("slots: the slot buffer must be a direct ByteBuffer".into())
        })?;
        let capacity = env.get_direct_buffer_capacity(&buffer)?;
        slots::check_capacity(capacity)?;
        let Some(h) = HANDLES.get(handle) else {
            return Ok(CLOSED);
        };
        if h.injected_panic_due() {
            panic!("injected panic (test-only, NativeEngine.injectPanic)");
        }
        // SAFETY: `address` is the start of a direct buffer of `capacity` ≥
        // BUFFER_SIZE bytes, kept alive by the `buffer` reference for this
        // call. The shim gives each worker thread its own buffer and that
        // thread is blocked in this call, so nothing else touches the bytes.
        let bytes = unsafe { std::slice::from_raw_parts_mut(address, slots::BUFFER_SIZE) };
        let (levels, mask) = slots::split(bytes, count);
        let matched = h.engine.triage().match_batch(levels, mask);
        h.engine.note_seen(count as u64);
        Ok(matched as jint | h.pending())
    })
}

/// `String[] keyRefs(long h)`: the fields `submitKeys` expects for each
/// event, in order: the subset of `eventRefs` a decision reads.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_keyRefs<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    with_handle(&mut env, handle, ptr::null_mut(), |env, h| {
        string_array(env, h.engine.key_refs().iter().map(String::as_str))
    })
}

/// The address of a direct buffer with at least `len` bytes, or an
/// `IllegalArgumentException` naming `what`.
fn direct_region(
    env: &mut JNIEnv<'_>,
    buffer: &JByteBuffer<'_>,
    len: usize,
    what: &str,
) -> Result<*mut u8, Failure> {
    if buffer.is_null() {
        return Err(Failure::IllegalArgument(format!(
            "{what}: the buffer must not be null"
        )));
    }
    let address = env.get_direct_buffer_address(buffer).map_err(|_| {
        Failure::IllegalArgument(format!("{what}: the buffer must be a direct ByteBuffer"))
    })?;
    let capacity = env.get_direct_buffer_capacity(buffer)?;
    if capacity < len {
        return Err(Failure::IllegalArgument(format!(
            "{what}: the buffer holds {capacity} bytes, {len} are needed"
        )));
    }
    Ok(address)
}

/// `int submitKeys(long h, ByteBuffer fields, int length, int eventCount,
/// ByteBuffer slots)`: decides about matched events from their key fields.
/// `fields` holds `eventCount × keyRefs.length` values in its first `length`
/// bytes, event after event, each JSON-encoded in UTF-8 and followed by a
/// newline (see [`values::decode_lines`]). For each event `k` the engine
/// either decides, writing at `MASK_OFFSET + k` of `slots`
/// [`DECIDED_UNMATCHED`] (0: no alert rule matched it: conditions, `exclude`,
/// or only a flatline rule watched it) or [`DECIDED_MATCHED`] (2: a repeat,
/// below the threshold, held back, ...), or, when a rule posts a message of its
/// own for it, decides nothing and writes [`UNDECIDED`] (1): the shim then
/// sends those events with every field through `submit`. The shim reports
/// events marked 1 or 2 to Logstash's match listener. Returns how many were
/// not decided, `| LOGS_PENDING`.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_submitKeys<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    fields: JByteBuffer<'local>,
    length: jint,
    event_count: jint,
    slot_buffer: JByteBuffer<'local>,
) -> jint {
    entry(&mut env, Some(handle), CLOSED, |env| {
        let events = slots::check_count(event_count.into())?;
        let length = usize::try_from(length).map_err(|_| {
            Failure::IllegalArgument(format!("length must not be negative, got {length}"))
        })?;
        let text_at = direct_region(env, &fields, length, "fields")?;
        let slots_at = direct_region(env, &slot_buffer, slots::BUFFER_SIZE, "slots")?;
        let (text_end, slots_end) = (
            text_at as usize + length,
            slots_at as usize + slots::BUFFER_SIZE,
        );
        if length > 0 && (text_at as usize) < slots_end && (slots_at as usize) < text_end {
            return Err(Failure::IllegalArgument(
                "fields: the buffer must not share memory with the slot buffer".into(),
            ));
        }
        // SAFETY: two direct buffers of at least these sizes, checked not to
        // overlap, alive for this call (their Java references are held). Each
        // worker thread of the shim owns its buffers and is blocked in this
        // call, so nothing else touches the bytes.
        let text: &[u8] = if length == 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(text_at, length) }
        };
        let slot_bytes = unsafe { std::slice::from_raw_parts_mut(slots_at, slots::BUFFER_SIZE) };
        let Some(h) = HANDLES.get(handle) else {
            return Ok(CLOSED);
        };
        let width = h.engine.key_refs().len();
        let expected = events
            .checked_mul(width)
            .ok_or_else(|| Failure::IllegalArgument("eventCount × keyRefs overflows".into()))?;
        let mut values = values::decode_lines(text, expected)
            .map_err(Failure::IllegalArgument)?
            .into_iter();
        let mask = &mut slot_bytes[slots::MASK_OFFSET..slots::MASK_OFFSET + events];
        let mut undecided: jint = 0;
        let mut closed = false;
        for flag in mask.iter_mut() {
            let event = h
                .engine
                .event_from_key_values(values.by_ref().take(width).collect());
            *flag = DECIDED_UNMATCHED;
            match h.engine.submit_keys(&event) {
                None => {
                    *flag = UNDECIDED;
                    undecided += 1;
                }
                Some(Decision::Closed) => closed = true,
                Some(decision) => *flag = mask_of(decision),
            }
        }
        if closed {
            return Ok(CLOSED);
        }
        Ok(undecided | h.pending())
    })
}

/// `String[] heartbeatRefs(long h)`: the fields `heartbeats` expects for each
/// event, in order: the flatline rules' groups and the fields their
/// conditions read (empty without flatline rules).
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_heartbeatRefs<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    with_handle(&mut env, handle, ptr::null_mut(), |env, h| {
        string_array(env, h.engine.heartbeat_refs().iter().map(String::as_str))
    })
}

/// `int[] heartbeatFallbacks(long h)`: per `heartbeatRefs` entry, the index
/// of the entry it only backs up (`[service][name]` behind `[service.name]`),
/// or -1: the shim sends it as missing when that one names a value.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_heartbeatFallbacks<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jintArray {
    with_handle(&mut env, handle, ptr::null_mut(), |env, h| {
        let values: Vec<jint> = h
            .engine
            .heartbeat_fallbacks()
            .iter()
            .map(|f| f.and_then(|i| jint::try_from(i).ok()).unwrap_or(-1))
            .collect();
        let len = jint::try_from(values.len())
            .map_err(|_| Failure::IllegalState("too many references for a Java array".into()))?;
        let array = env.new_int_array(len)?;
        env.set_int_array_region(&array, 0, &values)?;
        Ok(array.into_raw())
    })
}

/// `int heartbeats(long h, ByteBuffer fields, int length, int eventCount)`:
/// lets the flatline rules learn from events only they take (mask 2 of
/// `matchBatch`). `fields` holds `eventCount × (heartbeatRefs.length + 1)`
/// values in its first `length` bytes, encoded as for `submitKeys`: per
/// heartbeat the values of `heartbeatRefs`, then how many events of the batch
/// it stands for (a positive whole number: the shim sends a run of
/// consecutive events with equal values once). Nothing is decided for the
/// shim: such events are never reported to the match listener. Returns
/// `eventCount | LOGS_PENDING`, or `-1` if closed.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_heartbeats<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    fields: JByteBuffer<'local>,
    length: jint,
    event_count: jint,
) -> jint {
    entry(&mut env, Some(handle), CLOSED, |env| {
        let events = slots::check_count(event_count.into())?;
        let length = usize::try_from(length).map_err(|_| {
            Failure::IllegalArgument(format!("length must not be negative, got {length}"))
        })?;
        let text_at = direct_region(env, &fields, length, "fields")?;
        // SAFETY: a direct buffer of at least `length` bytes, alive for this
        // call (its Java reference is held). Each worker thread of the shim
        // owns its buffer and is blocked in this call.
        let text: &[u8] = if length == 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(text_at, length) }
        };
        let Some(h) = HANDLES.get(handle) else {
            return Ok(CLOSED);
        };
        let width = h.engine.heartbeat_refs().len();
        let expected = events.checked_mul(width + 1).ok_or_else(|| {
            Failure::IllegalArgument("eventCount × heartbeatRefs overflows".into())
        })?;
        let mut values = values::decode_lines(text, expected)
            .map_err(Failure::IllegalArgument)?
            .into_iter();
        for k in 0..events {
            let event = h
                .engine
                .event_from_heartbeat_values(values.by_ref().take(width).collect());
            let stands_for = values
                .next()
                .flatten()
                .and_then(|n| n.as_u64())
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    Failure::IllegalArgument(format!(
                        "fields: heartbeat {k} must end with how many events it stands for (a positive whole number)"
                    ))
                })?;
            if !h.engine.heartbeat(&event, stands_for) {
                return Ok(CLOSED);
            }
        }
        Ok(event_count | h.pending())
    })
}

/// The `submitKeys` mask value of a decision the engine took: whether an
/// alert rule matched the event, so that Logstash's `add_field`/`add_tag`
/// apply to it.
fn mask_of(decision: Decision) -> u8 {
    match decision {
        Decision::Alerted
        | Decision::Repeat
        | Decision::RateLimited
        | Decision::Dropped
        | Decision::BelowThreshold => DECIDED_MATCHED,
        Decision::Ignored | Decision::Closed => DECIDED_UNMATCHED,
    }
}

/// `int submit(long h, String[] values, int eventCount)`: submits matched
/// events; `values` holds `eventCount × eventRefs.length` JSON-encoded values
/// (or nulls), event after event.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_submit<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    values: JObjectArray<'local>,
    event_count: jint,
) -> jint {
    entry(&mut env, Some(handle), CLOSED, |env| {
        let events = usize::try_from(event_count).map_err(|_| {
            Failure::IllegalArgument(format!(
                "eventCount must not be negative, got {event_count}"
            ))
        })?;
        if values.is_null() {
            return Err(Failure::IllegalArgument("values must not be null".into()));
        }
        let Some(h) = HANDLES.get(handle) else {
            return Ok(CLOSED);
        };
        let width = h.engine.event_refs().len();
        let length = env.get_array_length(&values)? as usize;
        if Some(length) != events.checked_mul(width) {
            return Err(Failure::IllegalArgument(format!(
                "values must hold eventCount × eventRefs = {events} × {width} entries, got {length}"
            )));
        }
        let mut submitted: jint = 0;
        let mut closed = false;
        for event in 0..events {
            let mut fields = Vec::with_capacity(width);
            for field in 0..width {
                let element =
                    env.get_object_array_element(&values, (event * width + field) as jint)?;
                if element.is_null() {
                    fields.push(None);
                    continue;
                }
                let element = JString::from(element);
                let text: String = env.get_string(&element)?.into();
                env.delete_local_ref(element)?;
                fields.push(values::decode(Some(&text)));
            }
            let matched = h.engine.event_from_values(fields);
            match h.engine.submit(&matched) {
                Decision::Closed => closed = true,
                _ => submitted += 1,
            }
        }
        if closed {
            return Ok(CLOSED);
        }
        Ok(submitted | h.pending())
    })
}

/// `String[] drainLogs(long h)`: `[level, message, …]` of the engine's
/// buffered log lines, oldest first; levels are `ERROR`, `WARN`, `INFO`,
/// `DEBUG`. Empty once closed (`close` returns the last lines).
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_drainLogs<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    entry(&mut env, Some(handle), ptr::null_mut(), |env| {
        let pairs = match HANDLES.get(handle) {
            Some(h) => drained_pairs(&h.log),
            None => Vec::new(),
        };
        string_array(env, pairs.iter().map(String::as_str))
    })
}

/// `String[] close(long h)`: unregisters the handle, shuts the engine down
/// (bounded by `shutdown_timeout`) and returns `[report, counters,
/// ruleCounters, level, message, …]`: the one-line shutdown report, the final
/// counter values as comma-separated decimals in the catalog's `counters`
/// order, the final per-rule counters the same way in `ruleCounters` order,
/// then the log lines still buffered. Returns `null` if the handle was already closed.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_close<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    entry(&mut env, Some(handle), ptr::null_mut(), |env| {
        let Some(h) = HANDLES.remove(handle) else {
            return Ok(ptr::null_mut());
        };
        // Calls that looked the handle up before the removal still hold it;
        // after shutdown the engine answers them with `Decision::Closed`.
        let report = h.engine.shutdown().to_string();
        let counters = csv(&h.engine.counters());
        let rule_counters = csv(&h.engine.rule_counters());
        let mut out = vec![report, counters, rule_counters];
        out.extend(drained_pairs(&h.log));
        string_array(env, out.iter().map(String::as_str))
    })
}

/// `void injectPanic(long h, int countdown)`: **test-only.** Makes the
/// `countdown`-th next `matchBatch` call on this handle panic inside native
/// code (0 cancels), so tests can check that a native failure is contained.
/// Unknown handles are ignored.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_injectPanic<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    countdown: jint,
) {
    with_handle(&mut env, handle, (), |_, h| {
        h.panic_countdown
            .store(countdown.max(0).into(), Ordering::SeqCst);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mask_says_whether_an_alert_rule_matched() {
        for d in [
            Decision::Alerted,
            Decision::Repeat,
            Decision::RateLimited,
            Decision::Dropped,
            Decision::BelowThreshold,
        ] {
            assert_eq!(mask_of(d), DECIDED_MATCHED, "{d:?}");
        }
        // Excluded events and a flatline rule's heartbeats are Ignored.
        assert_eq!(mask_of(Decision::Ignored), DECIDED_UNMATCHED);
        assert_eq!(mask_of(Decision::Closed), DECIDED_UNMATCHED);
        assert_ne!(UNDECIDED, DECIDED_MATCHED);
        assert_ne!(UNDECIDED, DECIDED_UNMATCHED);
    }

    #[test]
    fn the_batch_mask_tells_alert_candidates_from_heartbeats() {
        let config = Config::from_json(
            r#"{"dry_run": true, "rules": [
                {"name": "errors"},
                {"name": "quiet", "type": "flatline", "silence": "10m"}]}"#,
        )
        .unwrap();
        let engine = Engine::start(config, Arc::new(BufferedLog::new(16))).unwrap();
        let mut buf = vec![0u8; slots::BUFFER_SIZE];
        let levels: [&[u8]; 4] = [b"ERROR", b"INFO", b"", b"nonsense"];
        for (i, l) in levels.iter().enumerate() {
            let slot = &mut buf[i * slots::SLOT_SIZE..];
            if l.is_empty() {
                slot[0] = slots::NO_LEVEL;
            } else {
                slot[0] = l.len() as u8;
                slot[1..1 + l.len()].copy_from_slice(l);
            }
        }
        let (levels, mask) = slots::split(&mut buf, 4);
        assert_eq!(engine.triage().match_batch(levels, mask), 4);
        assert_eq!(
            mask,
            [
                ALERT_CANDIDATE,
                HEARTBEAT_ONLY,
                HEARTBEAT_ONLY,
                HEARTBEAT_ONLY
            ]
        );
        assert_eq!(
            engine.heartbeat_refs(),
            ["[service.name]", "[service][name]"]
        );
        engine.shutdown();

        let simple = Engine::start(
            Config::from_json(r#"{"dry_run": true}"#).unwrap(),
            Arc::new(BufferedLog::new(16)),
        )
        .unwrap();
        let (levels, mask) = slots::split(&mut buf, 4);
        assert_eq!(simple.triage().match_batch(levels, mask), 1);
        assert_eq!(
            mask,
            [ALERT_CANDIDATE, NOT_CANDIDATE, NOT_CANDIDATE, NOT_CANDIDATE]
        );
        simple.shutdown();
    }

    #[test]
    fn counters_cross_as_comma_separated_decimals() {
        assert_eq!(csv(&[]), "");
        assert_eq!(csv(&[0, 7, u64::MAX]), "0,7,18446744073709551615");
    }
}
