//! The picture of an incident's life in app mode, for the README: one
//! HTML page (rendered by `slack-alert-preview`, as `check --html` renders)
//! with the message as posted, while it repeats, and when it went quiet,
//! each with its thread so far.
//!
//! ```text
//! cargo run -q -p slack-alert-sidecar --example app-lifecycle > target/app-lifecycle.html
//! chromium --headless --hide-scrollbars --window-size=900,2380 \
//!   --screenshot=rust/preview/doc/app-lifecycle.png target/app-lifecycle.html
//! ```

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use slack_alert_engine::destination::app::status::{
    closing_reply, milestone_reply, with_status, Phase, Status,
};
use slack_alert_engine::{Milestone, Spread};
use slack_alert_preview::{Destination, Entry, Page};
use slack_alert_render::{render_alert, AlertView, Style};

fn main() {
    let event = json!({
        "@timestamp": "2026-11-20T10:02:11.204Z",
        "log.level": "ERROR",
        "service.name": "checkout",
        "host.name": "web-1",
        "log.logger": "com.example.checkout.PaymentClient",
        "message": "Payment provider timed out after 3000 ms",
        "error.type": "java.net.SocketTimeoutException",
        "error.stack_trace": "java.net.SocketTimeoutException: Read timed out\n\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:278)\n\tat com.example.checkout.PaymentClient.charge(PaymentClient.java:88)\n\tat com.example.checkout.CheckoutService.pay(CheckoutService.java:41)",
    });
    let base = render_alert(&AlertView::new("ERROR", &event), &Style::default());
    let first = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_168_931);
    let at = |s: u64| first + Duration::from_secs(s);
    let opened = Status {
        phase: Phase::Open,
        total: 1,
        first_seen: first,
        last_seen: first,
        spread: Spread::default(),
    };
    let repeating = Status {
        total: 1234,
        last_seen: at(332),
        spread: Spread {
            hosts: 3,
            services: 1,
        },
        ..opened
    };
    let quiet = Status {
        phase: Phase::Quiet,
        total: 1530,
        last_seen: at(412),
        ..repeating
    };
    let reply = |text: String| json!({"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]});
    let mut page = Page::new("slack_alert app mode: one incident, one message");
    page.describe("The same Slack message as it is posted, while it repeats, and when it goes quiet; its thread below each.");
    let mut push = |payload: Value, time: &str, kind: &str, note: &str| {
        page.push(Entry {
            time: Some(time.into()),
            kind: Some(kind.into()),
            note: Some(note.into()),
            ..Entry::new(payload, Destination::Slack)
        })
    };
    push(
        with_status(&base, &opened),
        "10:02:11",
        "posted",
        "chat.postMessage: the first event",
    );
    push(
        with_status(&base, &repeating),
        "10:07:43",
        "updated",
        "chat.update, at most once per update_interval",
    );
    for m in [
        Milestone::Count(10),
        Milestone::Count(100),
        Milestone::NewHost("web-2".into()),
        Milestone::Count(1000),
    ] {
        push(
            reply(milestone_reply(&m)),
            "",
            "thread reply",
            "in the incident's thread",
        );
    }
    push(
        with_status(&base, &quiet),
        "10:12:11",
        "updated: quiet",
        "chat.update when the 10m dedup window closes: the exact count, the bar turns green",
    );
    push(
        reply(closing_reply(&quiet).expect("a quiet incident says so")),
        "10:12:11",
        "thread reply",
        "in the incident's thread",
    );
    print!("{}", page.to_html());
}
