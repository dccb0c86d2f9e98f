//! A Web API call's arguments, read the ways Slack accepts them: a JSON object
//! (`application/json`), a form (`application/x-www-form-urlencoded`, or
//! `multipart/form-data`), and the query string. Also the multipart reader the upload
//! URL uses.
//!
//! Form values are strings, so arguments that are JSON (`blocks`, `attachments`,
//! `files`) are accepted either as JSON or as a string holding JSON, as Slack does.

use serde_json::{Map, Value};

/// The arguments of one call.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Args {
    pub(crate) fields: Map<String, Value>,
    /// True if and only if the body was JSON sent without `charset=utf-8`: Slack
    /// answers then with the warning `missing_charset`.
    pub(crate) missing_charset: bool,
}

/// Reads the arguments of a request; `Err` is the Slack error to answer.
pub(crate) fn parse(
    http_method: &str,
    content_type: Option<&str>,
    query: &str,
    body: &[u8],
) -> Result<Args, &'static str> {
    let mut args = Args {
        fields: form(query.as_bytes()).ok_or("invalid_form_data")?,
        missing_charset: false,
    };
    if http_method != "POST" || (body.is_empty() && content_type.is_none()) {
        return Ok(args);
    }
    let (media, params) = split_media_type(content_type.unwrap_or(""));
    let fields = match media.as_str() {
        "application/json" => {
            match param(&params, "charset") {
                None => args.missing_charset = true,
                Some(c) if c.eq_ignore_ascii_case("utf-8") || c.eq_ignore_ascii_case("utf8") => {}
                Some(_) => return Err("invalid_charset"),
            }
            if body.iter().all(u8::is_ascii_whitespace) {
                Map::new()
            } else {
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(fields)) => fields,
                    Ok(_) => return Err("json_not_object"),
                    Err(_) => return Err("invalid_json"),
                }
            }
        }
        // A body without a type is read as curl sends `-d`: a form.
        "application/x-www-form-urlencoded" | "" => form(body).ok_or("invalid_form_data")?,
        "multipart/form-data" => {
            let parts = multipart(&params, body).ok_or("invalid_form_data")?;
            let mut fields = Map::new();
            for part in parts.into_iter().filter(|p| p.filename.is_none()) {
                let value = String::from_utf8(part.data).map_err(|_| "invalid_form_data")?;
                fields.insert(part.name.unwrap_or_default(), Value::String(value));
            }
            fields
        }
        _ => return Err("invalid_post_type"),
    };
    args.fields.extend(fields);
    Ok(args)
}

impl Args {
    /// A string argument; `None` if absent, null or not a string.
    pub(crate) fn str(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// A boolean argument: JSON `true`, or `true`/`1` in a form. Absent is false.
    pub(crate) fn flag(&self, key: &str) -> bool {
        match self.fields.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true" || s == "1",
            Some(Value::Number(n)) => n.as_u64() == Some(1),
            _ => false,
        }
    }

    /// A whole-number argument, as a JSON number or a form's digits.
    pub(crate) fn whole(&self, key: &str) -> Option<u64> {
        match self.fields.get(key) {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// An argument that is JSON: `Ok(None)` if absent (or null or an empty form
    /// value), `Err` if it is a string that does not hold JSON.
    pub(crate) fn json(&self, key: &str) -> Result<Option<Value>, ()> {
        match self.fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s).map(Some).map_err(|_| ()),
            Some(other) => Ok(Some(other.clone())),
        }
    }

    /// The arguments for the call log: everything but the token.
    pub(crate) fn logged(&self) -> Value {
        let mut fields = self.fields.clone();
        fields.remove("token");
        Value::Object(fields)
    }
}

/// `application/json; charset=utf-8` as `("application/json", [("charset", "utf-8")])`,
/// the type lower-cased, parameter values unquoted.
pub(crate) fn split_media_type(content_type: &str) -> (String, Vec<(String, String)>) {
    let mut pieces = content_type.split(';');
    let media = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = pieces
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            (k.trim().to_ascii_lowercase(), v.to_string())
        })
        .collect();
    (media, params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Decodes `a=1&b=x+y%21` into string values; `None` if a value is not UTF-8 once
/// decoded.
fn form(raw: &[u8]) -> Option<Map<String, Value>> {
    let mut fields = Map::new();
    for pair in raw.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        fields.insert(decode(key)?, Value::String(decode(value)?));
    }
    Some(fields)
}

/// Percent-decodes one form component (`+` is a space); `None` if not UTF-8.
fn decode(component: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(component.len());
    let mut i = 0;
    while i < component.len() {
        match component[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = component
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Percent-decodes a path segment (`+` stays a `+`); `None` if not UTF-8.
pub(crate) fn decode_path(segment: &str) -> Option<String> {
    decode(segment.replace('+', "%2B").as_bytes())
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) name: Option<String>,
    pub(crate) filename: Option<String>,
    pub(crate) data: Vec<u8>,
}

/// The parts of a `multipart/form-data` body whose type parameters are `params`
/// (which must name the `boundary`); `None` if it is not well formed.
pub(crate) fn multipart(params: &[(String, String)], body: &[u8]) -> Option<Vec<Part>> {
    let boundary = param(params, "boundary").filter(|b| !b.is_empty())?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut at = find(body, &delimiter, 0)?;
    let mut parts = Vec::new();
    loop {
        at += delimiter.len();
        let rest = body.get(at..)?;
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        // Transport padding, then the line break that ends the delimiter line.
        let line_end = find(body, b"\r\n", at)?;
        if !body[at..line_end].iter().all(|b| *b == b' ' || *b == b'\t') {
            return None;
        }
        let head_start = line_end + 2;
        let head_end = find(body, b"\r\n\r\n", head_start)?;
        let head = std::str::from_utf8(&body[head_start..head_end]).ok()?;
        let data_start = head_end + 4;
        let mut next_delimiter = b"\r\n".to_vec();
        next_delimiter.extend_from_slice(&delimiter);
        let data_end = find(body, &next_delimiter, data_start)?;
        let (name, filename) = disposition(head);
        parts.push(Part {
            name,
            filename,
            data: body[data_start..data_end].to_vec(),
        });
        at = data_end + 2;
    }
}

/// The `name` and `filename` of a part's `Content-Disposition`.
fn disposition(head: &str) -> (Option<String>, Option<String>) {
    let Some(value) = head.split("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-disposition")
            .then_some(value)
    }) else {
        return (None, None);
    };
    let (_, params) = split_media_type(value);
    (
        param(&params, "name").map(str::to_string),
        param(&params, "filename").map(str::to_string),
    )
}

/// The first index of `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = from;
    while at + needle.len() <= haystack.len() {
        let offset = haystack[at..].iter().position(|b| *b == first)?;
        at += offset;
        if haystack.get(at..at + needle.len())? == needle {
            return Some(at);
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn post(content_type: &str, body: &str) -> Result<Args, &'static str> {
        parse("POST", Some(content_type), "", body.as_bytes())
    }

    #[test]
    fn json_objects_are_read_and_a_missing_charset_is_noticed() {
        let args = post(
            "application/json; charset=utf-8",
            r##"{"channel":"#a","blocks":[]}"##,
        )
        .unwrap();
        assert_eq!(args.str("channel"), Some("#a"));
        assert!(!args.missing_charset);
        assert!(post("application/json", "{}").unwrap().missing_charset);
        assert!(
            !post("Application/JSON; Charset=\"UTF-8\"", "{}")
                .unwrap()
                .missing_charset
        );
        assert_eq!(
            post("application/json; charset=utf-8", "").unwrap(),
            Args::default()
        );
    }

    #[test]
    fn bad_bodies_get_slack_errors() {
        assert_eq!(
            post("application/json; charset=utf-8", "{"),
            Err("invalid_json")
        );
        assert_eq!(
            post("application/json; charset=utf-8", "[1]"),
            Err("json_not_object")
        );
        assert_eq!(
            post("application/json; charset=latin1", "{}"),
            Err("invalid_charset")
        );
        assert_eq!(post("text/html", "x"), Err("invalid_post_type"));
        assert_eq!(
            post("application/x-www-form-urlencoded", "a=%FF"),
            Err("invalid_form_data")
        );
    }

    #[test]
    fn forms_and_queries_are_decoded_and_merged() {
        let args = parse(
            "POST",
            Some("application/x-www-form-urlencoded"),
            "a=query&q=1",
            b"a=x+y%21%2&filename=trace.txt&length=12&flag",
        )
        .unwrap();
        assert_eq!(args.str("a"), Some("x y!%2"), "the body wins");
        assert_eq!(args.str("q"), Some("1"));
        assert_eq!(args.whole("length"), Some(12));
        assert_eq!(args.str("flag"), Some(""));
        let get = parse("GET", None, "token=xoxb-1&channel=%23alerts", b"").unwrap();
        assert_eq!(get.str("channel"), Some("#alerts"));
        assert_eq!(get.logged(), json!({"channel": "#alerts"}));
        assert_eq!(parse("POST", None, "", b"").unwrap(), Args::default());
    }

    #[test]
    fn json_arguments_may_be_strings_holding_json() {
        let args = post(
            "application/x-www-form-urlencoded",
            "blocks=%5B%7B%22type%22%3A%22divider%22%7D%5D&bad=%5B&empty=",
        )
        .unwrap();
        assert_eq!(args.json("blocks"), Ok(Some(json!([{"type": "divider"}]))));
        assert_eq!(args.json("bad"), Err(()));
        assert_eq!(args.json("empty"), Ok(None));
        assert_eq!(args.json("absent"), Ok(None));
        let typed = post(
            "application/json; charset=utf-8",
            r#"{"b":[1],"f":true,"n":"1"}"#,
        )
        .unwrap();
        assert_eq!(typed.json("b"), Ok(Some(json!([1]))));
        assert!(typed.flag("f") && typed.flag("n") && !typed.flag("b"));
    }

    #[test]
    fn multipart_parts_are_split() {
        let body =
            "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"channel\"\r\n\r\nC1\r\n\
                    --XyZ \r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.txt\"\r\n\
                    Content-Type: text/plain\r\n\r\nline 1\r\n--not the end\r\n--XyZ--\r\n";
        let (_, params) = split_media_type("multipart/form-data; boundary=XyZ");
        let parts = multipart(&params, body.as_bytes()).unwrap();
        assert_eq!(
            parts,
            vec![
                Part {
                    name: Some("channel".into()),
                    filename: None,
                    data: b"C1".to_vec()
                },
                Part {
                    name: Some("file".into()),
                    filename: Some("t.txt".into()),
                    data: b"line 1\r\n--not the end".to_vec()
                },
            ]
        );
        let args = post("multipart/form-data; boundary=\"XyZ\"", body).unwrap();
        assert_eq!(
            args.fields,
            json!({"channel": "C1"}).as_object().unwrap().clone()
        );
        assert_eq!(multipart(&params, b"--XyZ\r\nno end"), None);
        assert_eq!(multipart(&[], body.as_bytes()), None);
    }

    #[test]
    fn path_segments_decode_but_keep_plus() {
        assert_eq!(decode_path("%23alerts").as_deref(), Some("#alerts"));
        assert_eq!(decode_path("a+b").as_deref(), Some("a+b"));
        assert_eq!(decode_path("%E2%9C%93").as_deref(), Some("✓"));
        assert_eq!(decode_path("%FF"), None);
    }
}
