//! A JSON value as the Java objects a JSON library would make of it: an
//! object becomes a `LinkedHashMap` (its keys in order), an array an
//! `ArrayList`, a whole number a `Long`, any other number a `Double`, text a
//! `String`, `true`/`false` a `Boolean`, `null` null. `catalog()` hands its
//! document over this way, so the plugin jar carries no JSON reader (and no
//! JSON library: Logstash loads one jar per plugin, and a second copy of one
//! would meet Logstash's own).

use jni::objects::{JObject, JValue};
use jni::JNIEnv;
use serde_json::Value;

/// `value` as a new local reference (null for JSON `null`).
pub(crate) fn to_java<'l>(env: &mut JNIEnv<'l>, value: &Value) -> jni::errors::Result<JObject<'l>> {
    match value {
        Value::Null => Ok(JObject::null()),
        Value::Bool(b) => boxed(env, "java/lang/Boolean", "(Z)", JValue::Bool(u8::from(*b))),
        Value::Number(n) => match n.as_i64() {
            Some(i) => boxed(env, "java/lang/Long", "(J)", JValue::Long(i)),
            // Past i64 (a u64) or a fraction: as a JSON library would, a double.
            None => boxed(
                env,
                "java/lang/Double",
                "(D)",
                JValue::Double(n.as_f64().unwrap_or(f64::NAN)),
            ),
        },
        Value::String(s) => Ok(env.new_string(s)?.into()),
        Value::Array(items) => {
            let list = env.new_object("java/util/ArrayList", "()V", &[])?;
            for item in items {
                let element = to_java(env, item)?;
                env.call_method(&list, "add", "(Ljava/lang/Object;)Z", &[(&element).into()])?;
                env.delete_local_ref(element)?;
            }
            Ok(list)
        }
        Value::Object(entries) => {
            let map = env.new_object("java/util/LinkedHashMap", "()V", &[])?;
            for (key, item) in entries {
                let key = JObject::from(env.new_string(key)?);
                let element = to_java(env, item)?;
                let previous = env
                    .call_method(
                        &map,
                        "put",
                        "(Ljava/lang/Object;Ljava/lang/Object;)Ljava/lang/Object;",
                        &[(&key).into(), (&element).into()],
                    )?
                    .l()?;
                // Every entry makes three local references: freed as we go, so
                // a large document cannot fill the JVM's local reference table.
                env.delete_local_ref(previous)?;
                env.delete_local_ref(element)?;
                env.delete_local_ref(key)?;
            }
            Ok(map)
        }
    }
}

/// `class.valueOf(value)`, e.g. `Long.valueOf(20)`.
fn boxed<'l>(
    env: &mut JNIEnv<'l>,
    class: &str,
    argument: &str,
    value: JValue<'_, '_>,
) -> jni::errors::Result<JObject<'l>> {
    let signature = format!("{argument}L{class};");
    env.call_static_method(class, "valueOf", signature, &[value])?
        .l()
}
