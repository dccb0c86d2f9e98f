//! Slack's error strings in plain words.

/// What a webhook error means and what to do about it.
pub fn explain(status: u16, error: &str) -> &'static str {
    match error.trim() {
        "no_service" => {
            "the webhook was revoked or mistyped; create a new one and update webhook_url"
        }
        "no_team" => "the workspace behind the webhook no longer exists",
        "invalid_token" => "the webhook's token is invalid; create a new webhook",
        "action_prohibited" => "a workspace admin has restricted this webhook",
        "channel_is_archived" => "the webhook's channel is archived",
        "channel_not_found" => "the channel does not exist or the webhook cannot post to it",
        "invalid_payload" => "Slack could not parse the message (please report this as a bug)",
        "invalid_blocks" | "invalid_blocks_format" => {
            "a block broke one of Slack's limits (please report this as a bug)"
        }
        "msg_blocks_too_long" => "the message was too long for Slack (please report this as a bug)",
        "no_text" => "the message had no text (please report this as a bug)",
        "too_many_attachments" => {
            "the message had too many attachments (please report this as a bug)"
        }
        "rollup_error" => "Slack had an internal error; it will be retried",
        _ => match status {
            429 => "Slack is rate limiting this webhook",
            500..=599 => "Slack had an internal error",
            401 | 403 => "Slack refused the webhook",
            404 | 410 => "the webhook does not exist any more",
            _ => "Slack refused the message",
        },
    }
}

/// Returns true if and only if retrying can help (429, 5xx).
pub fn is_transient(status: u16) -> bool {
    status == 429 || status >= 500
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_errors_are_explained() {
        assert!(explain(404, "no_service").contains("revoked or mistyped"));
        assert!(explain(410, "channel_is_archived").contains("archived"));
        assert!(explain(418, "teapot").contains("refused"));
        assert!(is_transient(429) && is_transient(503) && !is_transient(404));
    }
}
