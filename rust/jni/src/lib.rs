//! JNI bindings that let the Logstash Java shim drive the slack_alert engine.
//!
//! The Java class `io.slackalert.logstash.NativeEngine` declares the native
//! methods implemented here. Java never holds a pointer: [`create`] returns an
//! opaque id into a registry (see [`handles`]), every other call looks the id
//! up and works on its own reference to the engine, and `close` unregisters it.
//! A batch crosses in stages through one reused direct `ByteBuffer` per
//! worker thread, laid out as [`slots`] says and run by [`batch`]: the levels
//! of the whole chunk, then only for the events that need it the few fields a
//! decision reads, a flatline rule's heartbeat fields, and every field of the
//! events that get a message of their own. A chunk costs at most four
//! crossings whatever its size, and in an error storm almost every matched
//! event is a repeat that needs its key fields only.
//!
//! Every entry point runs inside [`std::panic::catch_unwind`]: a panic never
//! crosses into the JVM. It becomes an `IllegalStateException` whose message
//! starts with `slack_alert native failure:` and is counted by the engine's
//! `internal_errors` counter.
//!
//! | Java (`static native`)                         | result                                             |
//! |------------------------------------------------|----------------------------------------------------|
//! | `void validate(String configJson)`             | nothing; `IllegalArgumentException` naming a bad option, as `create` would; starts no engine |
//! | `Object catalog()`                             | one document as Java maps, lists and values (see `java_value`), read once when the library loads: every option of the engine's table (name, Logstash type, scope, typed default), the counter names, the per-rule counter names, the most characters of one string value the engine keeps, and the batch layout (see [`catalog`]) |
//! | `long create(String configJson)`               | handle; `IllegalArgumentException` naming a bad option, `IllegalStateException` if the engine cannot start |
//! | `Object[] describe(long h)`                    | `[levelRefs, keyRefs, eventRefs, heartbeatRefs, ruleNames, usualLevels, usualAnswers]`; `null` if closed |
//! | `int batch(long h, int stage, ByteBuffer buffer, int count, int length)` | the stage's count (see [`batch::run`]) `\| LOGS_PENDING`; `-1` if closed |
//! | `Object[] poll(long h, boolean logs)`          | `[null, logPairs, counters, ruleCounters]` (`logPairs` taken only with `logs`); `null` if closed |
//! | `Object[] close(long h)`                       | `[report, logPairs, counters, ruleCounters]`; `null` if already closed |
//! | `void injectPanic(long h, int countdown)`      | test-only fault injection                          |
//!
//! The buffer layout is documented in [`slots`]:
//!
//! ```
//! use slack_alert_jni::slots;
//! assert_eq!(slots::SLOT_SIZE, 32);
//! assert_eq!(slots::MASK_OFFSET, 1024 * 32);
//! assert_eq!(slots::VALUES_OFFSET, 1024 * 33);
//! assert_eq!(slots::LOGS_PENDING, 0x4000_0000);
//! ```
//!
//! [`create`]: Java_io_slackalert_logstash_NativeEngine_create

pub mod batch;
pub mod catalog;
pub mod handles;
mod java_value;
pub mod slots;
pub mod values;

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Once};

use jni::objects::{JByteBuffer, JClass, JObject, JObjectArray, JString};
use jni::sys::{jboolean, jint, jlong, jlongArray, jobject, jobjectArray, JNI_FALSE};
use jni::JNIEnv;
use once_cell::sync::Lazy;
use slack_alert_engine::{BufferedLog, Config, Engine, LogSink};

use crate::handles::Registry;
use crate::slots::{CLOSED, LOGS_PENDING};

/// Log lines kept for the shim between drains.
const LOG_CAPACITY: usize = 256;

/// One running engine and what the JNI layer keeps beside it.
struct Handle {
    engine: Engine,
    log: Arc<BufferedLog>,
    /// Test-only fault injection: when positive, counts down on each
    /// chunk (its LEVELS `batch` call) and the call that takes it from 1 to 0
    /// panics.
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
/// `batch` calls [`entry`] and looks the handle up itself once its
/// arguments are checked, so a bad argument raises its exception even on a
/// closed handle.
fn with_handle<'local, R: Copy>(
    env: &mut JNIEnv<'local>,
    handle: jlong,
    closed: R,
    body: impl FnOnce(&mut JNIEnv<'local>, &Handle) -> Result<R, Failure>,
) -> R {
    entry(env, Some(handle), closed, |env| {
        HANDLES.with(handle, |h| body(env, h)).unwrap_or(Ok(closed))
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
        set_element(env, &array, i as jint, s)?;
    }
    Ok(array.into_raw())
}

/// Stores `element` at `index` of `array`, then frees that local reference,
/// so that filling an array cannot fill the JVM's local reference table.
fn set_element<'local>(
    env: &mut JNIEnv<'local>,
    array: &JObjectArray<'_>,
    index: jint,
    element: impl Into<JObject<'local>>,
) -> Result<(), Failure> {
    let element = element.into();
    env.set_object_array_element(array, index, &element)?;
    env.delete_local_ref(element)?;
    Ok(())
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

/// `Object catalog()`: the options, counters, value bound and layout as one
/// document ([`catalog`]) of Java maps, lists and values; the shim reads it
/// once per class loader, right after loading the library.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_catalog<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
) -> jobject {
    entry(&mut env, None, ptr::null_mut(), |env| {
        let doc = catalog::catalog_document().map_err(Failure::IllegalState)?;
        Ok(java_value::to_java(env, &doc)?.into_raw())
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

/// `Object[] describe(long h)`: what the shim needs to know about a running
/// engine, once, at start: `[String[] levelRefs, String[] keyRefs, String[]
/// eventRefs, String[] heartbeatRefs, String[] ruleNames, String[]
/// usualLevels, byte[] usualAnswers, int[] eventBounds]` (indices `DESCRIBE_*` in
/// `NativeEngine.java`): where to read the level, the fields each batch stage
/// sends per event, the rules' names for the per-rule gauges, and the
/// engine's LEVELS answer for the usual spellings of the levels it knows
/// ([`Engine::usual_levels`]), so that a chunk sends only other texts, and
/// how long each event value may be ([`Engine::event_bounds`]). `null` if
/// closed.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_describe<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    with_handle(&mut env, handle, ptr::null_mut(), |env, h| {
        let e = &h.engine;
        let names = e.rule_names();
        let lists: [&[String]; 5] = [
            e.level_refs(),
            e.key_refs(),
            e.event_refs(),
            e.heartbeat_refs(),
            &names,
        ];
        let usual = e.usual_levels();
        let texts: Vec<String> = usual.iter().map(|(t, _)| t.clone()).collect();
        let answers: Vec<i8> = usual.iter().map(|(_, c)| *c as i8).collect();
        let width = lists.len() as jint;
        let out = env.new_object_array(width + 3, "java/lang/Object", JObject::null())?;
        for (i, list) in lists.iter().chain([&texts[..]].iter()).enumerate() {
            let array = string_array(env, list.iter().map(String::as_str))?;
            // SAFETY: a local reference this call just made.
            let array = unsafe { JObject::from_raw(array) };
            set_element(env, &out, i as jint, array)?;
        }
        let len = jint::try_from(answers.len())
            .map_err(|_| Failure::IllegalState("too many levels for a Java array".into()))?;
        let bytes = env.new_byte_array(len)?;
        env.set_byte_array_region(&bytes, 0, &answers)?;
        set_element(env, &out, width + 1, bytes)?;
        let bounds: Vec<jint> = e
            .event_bounds()
            .into_iter()
            .map(|b| jint::try_from(b).unwrap_or(jint::MAX))
            .collect();
        let len = jint::try_from(bounds.len())
            .map_err(|_| Failure::IllegalState("too many references for a Java array".into()))?;
        let ints = env.new_int_array(len)?;
        env.set_int_array_region(&ints, 0, &bounds)?;
        set_element(env, &out, width + 2, ints)?;
        Ok(out.into_raw())
    })
}

/// `int batch(long h, int stage, ByteBuffer buffer, int count, int length)`:
/// runs one stage of a batch ([`batch::run`]) over the worker's direct
/// buffer, laid out as [`slots`] says. Returns the stage's count `|
/// LOGS_PENDING`, or `-1` if closed. Arguments are checked before the handle
/// is looked up, so a bad one raises its exception even on a closed handle.
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_batch<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    stage: jint,
    buffer: JByteBuffer<'local>,
    count: jint,
    length: jint,
) -> jint {
    entry(&mut env, Some(handle), CLOSED, |env| {
        let count = usize::try_from(count).map_err(|_| {
            Failure::IllegalArgument(format!("count must be 0..=1024, got {count}"))
        })?;
        let length = usize::try_from(length).map_err(|_| {
            Failure::IllegalArgument(format!("length must not be negative, got {length}"))
        })?;
        if buffer.is_null() {
            return Err(Failure::IllegalArgument(
                "buffer: the batch buffer must not be null".into(),
            ));
        }
        let address = env.get_direct_buffer_address(&buffer).map_err(|_| {
            Failure::IllegalArgument("buffer: the batch buffer must be a direct ByteBuffer".into())
        })?;
        let capacity = env.get_direct_buffer_capacity(&buffer)?;
        // SAFETY: `address` is the start of a direct buffer of `capacity`
        // bytes, kept alive by the `buffer` reference for this call. The shim
        // gives each worker thread its own buffer and that thread is blocked
        // in this call, so nothing else touches the bytes.
        let bytes = unsafe { std::slice::from_raw_parts_mut(address, capacity) };
        HANDLES
            .with(handle, |h| {
                if stage == slots::STAGE_LEVELS && h.injected_panic_due() {
                    panic!("injected panic (test-only, NativeEngine.injectPanic)");
                }
                match batch::run(&h.engine, stage, bytes, count, length) {
                    Ok(CLOSED) => Ok(CLOSED),
                    Ok(n) => Ok(n | h.pending()),
                    Err(e) => Err(Failure::IllegalArgument(e)),
                }
            })
            .unwrap_or(Ok(CLOSED))
    })
}

/// `[report, String[] logPairs, long[] counters, long[] ruleCounters]`
/// (indices `REPORT_*` in `NativeEngine.java`) of `h`: what `poll` and
/// `close` return. `logPairs` is `[level, message, …]`, oldest first
/// (`ERROR`, `WARN`, `INFO`, `DEBUG`); `counters` in the catalog's order;
/// `ruleCounters` rule after rule, each in the catalog's `rule_counters`
/// order.
fn report(
    env: &mut JNIEnv<'_>,
    h: &Handle,
    summary: Option<&str>,
    logs: bool,
) -> Result<jobjectArray, Failure> {
    let out = env.new_object_array(4, "java/lang/Object", JObject::null())?;
    if let Some(text) = summary {
        let text = env.new_string(text)?;
        set_element(env, &out, 0, text)?;
    }
    let pairs = if logs {
        drained_pairs(&h.log)
    } else {
        Vec::new()
    };
    let logs = string_array(env, pairs.iter().map(String::as_str))?;
    let counters = long_array(env, h.engine.counters())?;
    let rule_counters = long_array(env, h.engine.rule_counters())?;
    for (i, raw) in [logs, counters, rule_counters].into_iter().enumerate() {
        // SAFETY: local references this call just made.
        let object = unsafe { JObject::from_raw(raw) };
        set_element(env, &out, i as jint + 1, object)?;
    }
    Ok(out.into_raw())
}

/// `Object[] poll(long h, boolean logs)`: the engine's counters now and,
/// with `logs`, its buffered log lines (taken: the next poll has only newer
/// ones; without, they stay and the array is empty), in the layout of
/// `report` without a report; `null` if closed (`close` returns the last
/// ones).
#[no_mangle]
pub extern "system" fn Java_io_slackalert_logstash_NativeEngine_poll<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    logs: jboolean,
) -> jobjectArray {
    with_handle(&mut env, handle, ptr::null_mut(), |env, h| {
        report(env, h, None, logs != JNI_FALSE)
    })
}

/// `Object[] close(long h)`: unregisters the handle, shuts the engine down
/// (bounded by `shutdown_timeout`) and returns the one-line shutdown report
/// with the last log lines and the final counters (`report`). `null` if
/// the handle was already closed.
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
        let summary = h.engine.shutdown().to_string();
        report(env, &h, Some(&summary), true)
    })
}

/// `void injectPanic(long h, int countdown)`: **test-only.** Makes the
/// `countdown`-th next chunk's first `batch` call (LEVELS) on this handle panic inside native
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
