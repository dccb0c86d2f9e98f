//! A picture of what Slack will show: messages as one self-contained HTML
//! page.
//!
//! `slack-alert check --html FILE` writes the page of every message a replay
//! would have posted, and the demo's fake Slack (`fake-slack --html
//! FILE`) the page of every message it received, so an operator tuning
//! `title` and `format` sees the result before going live.
//!
//! - [`mrkdwn`]: Slack's text formatting as HTML;
//! - [`message`]: one webhook body (Block Kit blocks, attachments with their
//!   colour bar, the top-level text) as Slack lays it out;
//! - [`Page`]: the page, each message under its time, kind, rule and what
//!   it was (`line 3: ALERTED`, `answered 200 ok`), with the plain text a
//!   notification shows; a JSON destination's body as pretty JSON.
//!
//! The page is one file: inline CSS, no script, nothing fetched (images are
//! named, not loaded), and a Content-Security-Policy that says so to the
//! browser. Every text of a payload is HTML-escaped ([`html`]), so a log
//! line can never add markup to it.
//!
//! ```
//! use serde_json::json;
//! use slack_alert_preview::{Destination, Entry, Page};
//!
//! let mut page = Page::new("slack-alert check");
//! page.push(Entry {
//!     time: Some("2026-11-20 09:00:02 UTC".into()),
//!     kind: Some("alert".into()),
//!     rule: Some("errors".into()),
//!     note: Some("line 3: ALERTED".into()),
//!     ..Entry::new(json!({"text": "*db down* &lt;script&gt;"}), Destination::Slack)
//! });
//! let html = page.to_html();
//! assert!(html.contains("<b>db down</b> &lt;script&gt;"));
//! assert!(!html.contains("<script"));
//! ```

pub mod html;
pub mod message;
pub mod mrkdwn;

use serde_json::Value;

/// The most messages one page shows; later ones are counted, not shown, so a
/// day of logs cannot make a page no browser opens.
pub const MAX_MESSAGES: usize = 2000;

/// Where a message goes: Slack renders it, a JSON webhook gets it as is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    Slack,
    Json,
}

/// One message on the page and what is known about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The webhook body.
    pub payload: Value,
    pub destination: Destination,
    /// When it was (or would have been) posted, as shown.
    pub time: Option<String>,
    /// What kind of message: `alert`, `repeat report`, `summary`, `flatline`, …
    pub kind: Option<String>,
    /// The rule that sent it.
    pub rule: Option<String>,
    /// What else is worth saying, e.g. `line 3: ALERTED` or `answered 429`.
    pub note: Option<String>,
}

impl Entry {
    /// An entry with nothing known but the body and where it goes.
    pub fn new(payload: Value, destination: Destination) -> Entry {
        Entry {
            payload,
            destination,
            time: None,
            kind: None,
            rule: None,
            note: None,
        }
    }
}

/// A page of messages, in the order pushed.
#[derive(Clone, Debug, Default)]
pub struct Page {
    title: String,
    about: Vec<String>,
    entries: Vec<Entry>,
    left_out: usize,
}

impl Page {
    /// An empty page headed `title`.
    pub fn new(title: impl Into<String>) -> Page {
        Page {
            title: title.into(),
            ..Page::default()
        }
    }

    /// Adds a line under the title, e.g. which config and input it shows.
    pub fn describe(&mut self, line: impl Into<String>) {
        self.about.push(line.into());
    }

    /// Adds a message; past [`MAX_MESSAGES`] it is only counted.
    pub fn push(&mut self, entry: Entry) {
        if self.entries.len() < MAX_MESSAGES {
            self.entries.push(entry);
        } else {
            self.left_out += 1;
        }
    }

    /// Messages on the page.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns true if and only if no message was pushed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.left_out == 0
    }

    /// The page.
    pub fn to_html(&self) -> String {
        let mut out = String::with_capacity(4096 + self.entries.len() * 2048);
        out.push_str(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        );
        out.push_str(&format!("<title>{}</title>\n", html::text(&self.title)));
        out.push_str("<style>");
        out.push_str(CSS);
        out.push_str("</style>\n</head>\n<body>\n<header class=\"page\">\n");
        out.push_str(&format!("<h1>{}</h1>\n", html::text(&self.title)));
        for line in &self.about {
            out.push_str(&format!("<p>{}</p>\n", html::text(line)));
        }
        let total = self.entries.len() + self.left_out;
        let mut count = format!("{total} message{}", if total == 1 { "" } else { "s" });
        if self.left_out > 0 {
            count.push_str(&format!(
                "; the first {} are shown, {} more are not",
                self.entries.len(),
                self.left_out
            ));
        }
        out.push_str(&format!("<p class=\"count\">{}</p>\n", html::text(&count)));
        out.push_str("</header>\n<main class=\"channel\">\n");
        if self.entries.is_empty() {
            out.push_str("<p class=\"empty\">No message would have been posted.</p>\n");
        }
        for (i, entry) in self.entries.iter().enumerate() {
            entry_html(i + 1, entry, &mut out);
        }
        out.push_str("</main>\n</body>\n</html>\n");
        out
    }
}

fn entry_html(n: usize, entry: &Entry, out: &mut String) {
    let kind = entry.kind.as_deref().unwrap_or("");
    out.push_str(&format!(
        "<article class=\"message\" id=\"m{n}\" data-kind=\"{}\" data-rule=\"{}\" data-destination=\"{}\">\n",
        html::attribute(kind),
        html::attribute(entry.rule.as_deref().unwrap_or("")),
        match entry.destination {
            Destination::Slack => "slack",
            Destination::Json => "json",
        }
    ));
    // What the page knows about the message, above it.
    out.push_str("<div class=\"meta\">");
    out.push_str(&format!("<span class=\"number\">#{n}</span>"));
    if !kind.is_empty() {
        out.push_str(&format!(
            "<span class=\"kind kind-{}\">{}</span>",
            slug(kind),
            html::text(kind)
        ));
    }
    if let Some(rule) = &entry.rule {
        out.push_str(&format!(
            "<span class=\"rule\">rule <b>{}</b></span>",
            html::text(rule)
        ));
    }
    if let Some(channel) = entry.payload.get("channel").and_then(Value::as_str) {
        out.push_str(&format!(
            "<span class=\"route\">→ {}</span>",
            html::text(channel)
        ));
    }
    if let Some(note) = &entry.note {
        out.push_str(&format!("<span class=\"note\">{}</span>", html::text(note)));
    }
    out.push_str("</div>\n");

    let (name, avatar) = sender(entry);
    out.push_str("<div class=\"row\">");
    out.push_str(&format!("<div class=\"avatar\">{avatar}</div>"));
    out.push_str("<div class=\"content\"><div class=\"sender\">");
    out.push_str(&format!(
        "<span class=\"name\">{}</span>",
        html::text(&name)
    ));
    if entry.destination == Destination::Slack {
        out.push_str("<span class=\"app\">APP</span>");
    }
    if let Some(time) = &entry.time {
        out.push_str(&format!("<time>{}</time>", html::text(time)));
    }
    out.push_str("</div>\n");
    match entry.destination {
        Destination::Slack => {
            out.push_str(&message::to_html(&entry.payload));
            if let Some(notification) = message::notification(&entry.payload) {
                out.push_str(&format!(
                    "\n<div class=\"notification\">Notification: {}</div>",
                    html::text(&notification)
                ));
            }
        }
        Destination::Json => {
            let pretty =
                serde_json::to_string_pretty(&entry.payload).unwrap_or_else(|e| e.to_string());
            out.push_str(&format!(
                "<div class=\"json-label\">JSON webhook body</div><pre class=\"json\">{}</pre>",
                html::text(&pretty)
            ));
        }
    }
    out.push_str("</div></div>\n</article>\n");
}

/// Who the message is from and its avatar: the payload's `username` and
/// `icon_emoji` (legacy webhooks honour them), else the app.
fn sender(entry: &Entry) -> (String, String) {
    if entry.destination == Destination::Json {
        return ("JSON webhook".to_string(), "{ }".to_string());
    }
    let name = entry
        .payload
        .get("username")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("slack_alert")
        .to_string();
    let avatar = entry
        .payload
        .get("icon_emoji")
        .and_then(Value::as_str)
        .and_then(|code| mrkdwn::emoji(code.trim().trim_matches(':')))
        .unwrap_or("🔔")
        .to_string();
    (name, avatar)
}

/// `repeat report` → `repeat-report`: a kind as a CSS class name.
fn slug(kind: &str) -> String {
    kind.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Slack's look: Lato, white, bold names, grey context, a 4 px colour bar.
const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;background:#fff;color:#1d1c1d;font:15px/1.46668 Lato,"Slack-Lato","Helvetica Neue",Helvetica,Arial,sans-serif;-webkit-font-smoothing:antialiased}
header.page{padding:16px 20px 12px;border-bottom:1px solid #dddddd}
header.page h1{margin:0 0 4px;font-size:18px;font-weight:900}
header.page p{margin:0;color:#616061;font-size:13px}
main.channel{padding:8px 0 24px;max-width:900px}
p.empty{padding:8px 20px;color:#616061}
article.message{padding:8px 20px 10px;border-bottom:1px solid #f0f0f0}
article.message:hover{background:#f8f8f8}
.meta{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:center;margin:0 0 6px 48px;font-size:12px;color:#616061}
.meta .number{color:#868686}
.kind{border-radius:10px;padding:0 8px;font-weight:700;font-size:11px;line-height:18px;text-transform:uppercase;letter-spacing:.03em;background:#e8e8e8;color:#1d1c1d}
.kind-alert{background:#fbe3e3;color:#a30200}
.kind-repeat-report{background:#fdf1dc;color:#8a5a00}
.kind-summary{background:#e3eefb;color:#0b4c8c}
.kind-flatline{background:#ece3fb;color:#4a2a8a}
.kind-recovered,.kind-test{background:#dff3ea;color:#00704a}
.meta .note{font-family:Monaco,Menlo,Consolas,"Courier New",monospace;font-size:11px}
.row{display:flex;gap:8px}
.avatar{flex:0 0 36px;height:36px;border-radius:4px;background:#f4ede4;display:flex;align-items:center;justify-content:center;font-size:20px;font-weight:700;color:#1d1c1d}
.content{flex:1;min-width:0}
.sender{display:flex;align-items:baseline;gap:6px;line-height:1.2}
.sender .name{font-weight:900}
.sender .app{font-size:10px;font-weight:700;color:#616061;background:rgba(29,28,29,.13);border-radius:2px;padding:1px 3px}
.sender time{font-size:12px;color:#616061}
.slack{margin-top:2px}
.text{white-space:pre-wrap;overflow-wrap:anywhere}
.attachment{display:flex;margin:6px 0 2px;max-width:760px}
.attachment .bar{flex:0 0 4px;border-radius:8px 0 0 8px}
.attachment-body{flex:1;min-width:0;padding:0 12px}
.author{font-weight:700;font-size:13px}
.title{font-weight:700}
.header{font-size:18px;font-weight:900;line-height:1.33;margin:4px 0 6px;white-space:pre-wrap;overflow-wrap:anywhere}
.section{display:flex;gap:12px;margin:4px 0}
.section-main{flex:1;min-width:0}
.fields{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:8px 16px;margin:8px 0 4px}
.field{white-space:pre-wrap;overflow-wrap:anywhere}
.field.wide{grid-column:1/-1}
.context{color:#616061;font-size:13px;margin:6px 0 2px;white-space:pre-wrap;overflow-wrap:anywhere}
.context b{color:#1d1c1d;font-weight:700}
.context-element{margin-right:6px}
.image-alt{color:#868686}
hr.divider{border:0;border-top:1px solid #dddddd;margin:10px 0}
.actions{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0 4px}
.button{display:inline-block;border:1px solid rgba(29,28,29,.3);border-radius:4px;padding:0 12px;height:28px;line-height:26px;font-size:13px;font-weight:700;color:#1d1c1d;background:#fff;text-decoration:none;white-space:nowrap}
.button.primary{background:#007a5a;border-color:#007a5a;color:#fff}
.button.danger{background:#fff;border-color:#e01e5a;color:#e01e5a}
a{color:#1264a3;text-decoration:none}
a:hover{text-decoration:underline}
.link{color:#1264a3}
code{font:12px/1.5 Monaco,Menlo,Consolas,"Courier New",monospace;color:#c01343;background:rgba(29,28,29,.04);border:1px solid rgba(29,28,29,.13);border-radius:3px;padding:1px 3px}
pre.code,pre.json{tab-size:4;font:12px/1.5 Monaco,Menlo,Consolas,"Courier New",monospace;background:rgba(29,28,29,.04);border:1px solid rgba(29,28,29,.13);border-radius:4px;padding:8px;margin:4px 0;white-space:pre-wrap;overflow-wrap:anywhere;color:#1d1c1d}
blockquote{margin:4px 0;padding-left:12px;border-left:4px solid #dddddd;white-space:pre-wrap}
.mention{border-radius:3px;padding:0 2px}
.mention.broadcast{background:rgba(242,199,68,.4);color:#1d1c1d}
.mention.user,.mention.channel{background:rgba(29,155,209,.1);color:#1264a3}
.image{display:inline-block;margin:6px 0;padding:8px 12px;border:1px dashed #bbbbbb;border-radius:4px;color:#616061;font-size:13px}
.image-url{font-size:11px;color:#868686}
.unknown{color:#868686;font-style:italic;font-size:13px}
.notification{margin-top:6px;font-size:12px;color:#868686;white-space:pre-wrap;overflow-wrap:anywhere}
.json-label{font-size:12px;color:#616061;margin-top:2px}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(n: usize) -> Entry {
        Entry {
            time: Some(format!("09:00:0{n} UTC")),
            kind: Some("repeat report".into()),
            rule: Some("db \"storm\"".into()),
            note: Some(format!("line {n}: <REPEAT>")),
            ..Entry::new(
                json!({"text": format!("message {n}"), "channel": "#ops", "username": "<b>bot</b>", "icon_emoji": ":fire:"}),
                Destination::Slack,
            )
        }
    }

    #[test]
    fn a_page_holds_every_message_with_what_is_known_about_it() {
        let mut page = Page::new("preview <of> things");
        page.describe("config a.yml & input b.jsonl");
        page.push(alert(1));
        page.push(Entry::new(
            json!({"text": "</pre><script>x</script>", "n": 1}),
            Destination::Json,
        ));
        let html = page.to_html();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>preview &lt;of&gt; things</title>"));
        assert!(html.contains("<p>config a.yml &amp; input b.jsonl</p>"));
        assert!(html.contains("<p class=\"count\">2 messages</p>"));
        assert_eq!(html.matches("<article class=\"message\"").count(), 2);
        assert!(html.contains(
            "<article class=\"message\" id=\"m1\" data-kind=\"repeat report\" \
             data-rule=\"db &quot;storm&quot;\" data-destination=\"slack\">"
        ));
        assert!(html.contains("<span class=\"kind kind-repeat-report\">repeat report</span>"));
        assert!(html.contains("<span class=\"route\">→ #ops</span>"));
        assert!(html.contains("<span class=\"note\">line 1: &lt;REPEAT&gt;</span>"));
        assert!(html.contains("<div class=\"avatar\">🔥</div>"));
        assert!(html.contains("<span class=\"name\">&lt;b&gt;bot&lt;/b&gt;</span>"));
        assert!(html.contains("<time>09:00:01 UTC</time>"));
        assert!(html.contains("<div class=\"notification\">Notification: message 1</div>"));
        // The JSON body, pretty and escaped.
        assert!(html.contains(
            "<pre class=\"json\">{\n  &quot;n&quot;: 1,\n  &quot;text&quot;: &quot;&lt;/pre&gt;&lt;script&gt;x&lt;/script&gt;&quot;\n}</pre>"
        ), "{html}");
        // No script, nothing fetched, and the browser is told so.
        assert!(!html.contains("<script"));
        for fetching in ["<img", "<link", "<iframe", "url(", "@import", "src="] {
            assert!(!html.contains(fetching), "{fetching}");
        }
        assert!(html.contains("default-src 'none'; style-src 'unsafe-inline'"));
    }

    #[test]
    fn a_page_is_bounded() {
        let mut page = Page::new("t");
        assert!(page.is_empty());
        assert!(page
            .to_html()
            .contains("No message would have been posted."));
        for n in 0..MAX_MESSAGES + 3 {
            page.push(alert(n % 10));
        }
        assert_eq!(page.len(), MAX_MESSAGES);
        let html = page.to_html();
        assert_eq!(
            html.matches("<article class=\"message\"").count(),
            MAX_MESSAGES
        );
        assert!(html.contains(&format!(
            "{} messages; the first {MAX_MESSAGES} are shown, 3 more are not",
            MAX_MESSAGES + 3
        )));
    }
}
