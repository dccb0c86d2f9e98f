//! The store against a real OpenSearch 2.19.6 node (one for this file, started by the first test).
//! Needs `scripts/opensearch-fixture` to have been run: without it every test fails saying so.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::{eventually, now_ms, FakeServer, OpenSearch, Reply};
use slack_alert_coordination::{Cas, Claim, ClaimDoc, OwnerUpdate, Store, StoreSettings};

fn claim_doc(owner: &str, count: u64, expires_at_ms: i64) -> ClaimDoc {
    let now = now_ms();
    ClaimDoc {
        owner: owner.to_string(),
        rule: "errors".into(),
        key: "db down".into(),
        window_start_ms: now - now % 60_000,
        first_seen_ms: now,
        last_seen_ms: now,
        count,
        hosts: vec![format!("{owner}-host")],
        lease_until_ms: now + 30_000,
        expires_at_ms,
    }
}

fn get_json(url: String) -> serde_json::Value {
    serde_json::from_str(&reqwest::blocking::get(url).unwrap().text().unwrap()).unwrap()
}

fn far_future() -> i64 {
    now_ms() + 3_600_000
}

#[test]
fn ensure_index_creates_the_index_once_with_its_mapping() {
    let os = OpenSearch::shared();
    let mut settings = StoreSettings::new(vec![os.url().to_string()]);
    settings.index = "ensure-index".into();
    let store = Store::new(settings).unwrap();
    assert!(store.ensure_index().unwrap(), "the first call creates it");
    assert!(!store.ensure_index().unwrap(), "the second finds it");
    let mapping = get_json(format!("{}/ensure-index/_mapping", os.url()));
    let properties = &mapping["ensure-index"]["mappings"]["properties"];
    assert_eq!(properties["expires_at"]["type"], "date");
    assert_eq!(properties["owner"]["type"], "keyword");
    let settings = get_json(format!("{}/ensure-index/_settings", os.url()));
    let index = &settings["ensure-index"]["settings"]["index"];
    assert_eq!(index["number_of_shards"], "1");
    let health = get_json(format!(
        "{}/_cluster/health/ensure-index?wait_for_status=green&timeout=60s",
        os.url()
    ));
    assert_eq!(
        health["status"], "green",
        "one node: no replica to wait for"
    );
}

#[test]
fn of_two_concurrent_claimers_exactly_one_owns_the_incident() {
    let store = Arc::new(OpenSearch::shared().store("claims"));
    for round in 0..20 {
        let id = format!("incident-{round}");
        let barrier = Arc::new(Barrier::new(2));
        let claimers: Vec<_> = ["node-a", "node-b"]
            .into_iter()
            .map(|node| {
                let (store, barrier, id) = (store.clone(), barrier.clone(), id.clone());
                thread::spawn(move || {
                    barrier.wait();
                    (
                        node,
                        store.claim(&id, &claim_doc(node, 1, far_future())).unwrap(),
                    )
                })
            })
            .collect();
        let results: Vec<(&str, Claim)> = claimers.into_iter().map(|t| t.join().unwrap()).collect();
        let owners: Vec<&str> = results
            .iter()
            .filter(|(_, c)| matches!(c, Claim::Owned { .. }))
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(owners.len(), 1, "round {round}: {results:?}");
        for (node, claim) in &results {
            if let Claim::Taken { owner, doc, .. } = claim {
                assert_ne!(owner, node);
                assert_eq!(owner, owners[0]);
                assert_eq!(doc.counts.get(owners[0]), Some(&1));
            }
        }
        assert_eq!(store.get(&id).unwrap().unwrap().doc.owner, owners[0]);
    }
}

#[test]
fn eight_threads_adding_counts_give_the_exact_sum() {
    let store = Arc::new(OpenSearch::shared().store("counts"));
    assert!(matches!(
        store
            .claim("storm", &claim_doc("node-0", 1, far_future()))
            .unwrap(),
        Claim::Owned { .. }
    ));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            thread::spawn(move || {
                let node = format!("node-{}", t % 4);
                let mut added = 0;
                for i in 0..25u64 {
                    let delta = 1 + (i * 7 + t) % 5;
                    let hosts = vec![format!("host-{t}")];
                    store
                        .add_counts("storm", &node, delta, now_ms(), &hosts)
                        .unwrap()
                        .expect("the incident");
                    added += delta;
                }
                (node, added)
            })
        })
        .collect();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    expected.insert("node-0".into(), 1);
    for t in threads {
        let (node, added) = t.join().unwrap();
        *expected.entry(node).or_default() += added;
    }
    let incident = store.get("storm").unwrap().unwrap().doc;
    assert_eq!(incident.counts, expected);
    assert_eq!(incident.count, expected.values().sum::<u64>());
    assert_eq!(incident.hosts.len(), 9, "{:?}", incident.hosts);
    assert_eq!(incident.owner, "node-0");
    assert_eq!(
        store
            .add_counts("never-claimed", "node-1", 1, now_ms(), &[])
            .unwrap(),
        None
    );
}

#[test]
fn take_over_is_refused_with_a_stale_seq_no() {
    let store = OpenSearch::shared().store("take-over");
    let Claim::Owned {
        seq_no,
        primary_term,
    } = store
        .claim("lease", &claim_doc("node-a", 2, far_future()))
        .unwrap()
    else {
        panic!("a fresh index has no claim")
    };
    // node-b flushes after reading: what it read is stale now.
    store
        .add_counts("lease", "node-b", 3, now_ms(), &[])
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .take_over("lease", "node-b", now_ms() + 60_000, seq_no, primary_term)
            .unwrap(),
        Cas::Stale
    );
    let read = store.get("lease").unwrap().unwrap();
    assert_eq!(read.doc.owner, "node-a");
    let Cas::Done { seq_no: after, .. } = store
        .take_over(
            "lease",
            "node-b",
            now_ms() + 60_000,
            read.seq_no,
            read.primary_term,
        )
        .unwrap()
    else {
        panic!("a fresh read takes it over")
    };
    assert!(after > read.seq_no);
    // A third node that read at the same time loses.
    assert_eq!(
        store
            .take_over(
                "lease",
                "node-c",
                now_ms() + 60_000,
                read.seq_no,
                read.primary_term
            )
            .unwrap(),
        Cas::Stale
    );
    let now = store.get("lease").unwrap().unwrap().doc;
    assert_eq!(now.owner, "node-b");
    assert_eq!(now.count, 5, "counts survive the take-over");
    assert_eq!(
        store
            .renew_lease("lease", "node-a", now_ms() + 90_000)
            .unwrap(),
        OwnerUpdate::NotOwner
    );
    assert_eq!(
        store.mark_reported("lease", "node-a", 5, now_ms()).unwrap(),
        OwnerUpdate::NotOwner
    );
    assert_eq!(
        store
            .renew_lease("lease", "node-b", now_ms() + 90_000)
            .unwrap(),
        OwnerUpdate::Done
    );
    assert_eq!(
        store.mark_reported("lease", "node-b", 5, 1234).unwrap(),
        OwnerUpdate::Done
    );
    assert!(store
        .set_message("lease", "C024BE91L", "1503435956.000247")
        .unwrap());
    assert_eq!(store.release("lease", "node-b").unwrap(), OwnerUpdate::Done);
    let last = store.get("lease").unwrap().unwrap().doc;
    assert_eq!(
        (last.reported_count, last.reported_at_ms),
        (Some(5), Some(1234))
    );
    assert_eq!(
        (last.channel.as_deref(), last.ts.as_deref()),
        (Some("C024BE91L"), Some("1503435956.000247"))
    );
    assert_eq!(last.lease_until_ms, 0, "released: anyone may take it over");
    assert_eq!(
        store.take_over("gone", "node-b", 1, 0, 1).unwrap(),
        Cas::Missing
    );
    assert_eq!(
        store.release("gone", "node-b").unwrap(),
        OwnerUpdate::Missing
    );
    assert!(!store.set_message("gone", "C", "1").unwrap());
    assert_eq!(store.get("gone").unwrap(), None);
}

#[test]
fn not_before_and_tokens_are_shared_by_the_fleet() {
    let os = OpenSearch::shared();
    let node_a = Arc::new(os.store("pace"));
    let node_b = Arc::new(os.store("pace"));
    assert_eq!(node_b.pace("hook").unwrap().not_before_ms, 0);
    assert_eq!(node_a.set_not_before("hook", 5_000).unwrap(), 5_000);
    assert_eq!(node_b.pace("hook").unwrap().not_before_ms, 5_000);
    assert_eq!(
        node_b.set_not_before("hook", 4_000).unwrap(),
        5_000,
        "never lowered"
    );
    assert_eq!(node_b.set_not_before("hook", 9_000).unwrap(), 9_000);
    assert_eq!(node_a.pace("hook").unwrap().not_before_ms, 9_000);

    // A bucket of 7, refilled at 60 a minute (one a second): 30 takers at one instant get 7.
    let now = 1_000_000;
    let threads: Vec<_> = (0..10)
        .map(|t| {
            let store = if t % 2 == 0 {
                node_a.clone()
            } else {
                node_b.clone()
            };
            thread::spawn(move || {
                (0..3)
                    .filter(|_| store.take_token("hook", now, 60, 7).unwrap())
                    .count()
            })
        })
        .collect();
    let granted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(granted, 7, "the limit holds for the fleet");
    let pace = node_a.pace("hook").unwrap();
    assert_eq!((pace.tokens, pace.not_before_ms), (Some(0.0), 9_000));
    assert!(
        !node_b.take_token("hook", now - 60_000, 60, 7).unwrap(),
        "a clock behind refills nothing"
    );
    assert!(
        !node_b.take_token("hook", now + 999, 60, 7).unwrap(),
        "not a whole token yet"
    );
    let refilled = (0..10)
        .filter(|_| node_b.take_token("hook", now + 2_000, 60, 7).unwrap())
        .count();
    assert_eq!(refilled, 2, "two seconds refill two tokens");
}

#[test]
fn posting_slots_are_spaced_across_the_fleet_and_wait_for_not_before() {
    let os = OpenSearch::shared();
    let node_a = Arc::new(os.store("slots"));
    let node_b = Arc::new(os.store("slots"));
    let now = 5_000_000;
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let store = if t % 2 == 0 {
                node_a.clone()
            } else {
                node_b.clone()
            };
            thread::spawn(move || store.reserve_slot("hook", now, 1_000).unwrap())
        })
        .collect();
    let mut slots: Vec<i64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    slots.sort_unstable();
    assert_eq!(
        slots,
        (0..6).map(|i| now + i * 1_000).collect::<Vec<_>>(),
        "one a second for the fleet"
    );
    // Later, past the last slot: now again.
    assert_eq!(
        node_a.reserve_slot("hook", now + 60_000, 1_000).unwrap(),
        now + 60_000
    );
    // A Retry-After shared by any node comes first.
    node_b.set_not_before("hook", now + 90_000).unwrap();
    assert_eq!(
        node_a.reserve_slot("hook", now + 61_000, 1_000).unwrap(),
        now + 90_000
    );
    // A node whose clock runs an hour ahead holds the others back a minute at most.
    node_b
        .reserve_slot("ahead", now + 3_600_000, 1_000)
        .unwrap();
    assert!(node_a.reserve_slot("ahead", now, 1_000).unwrap() <= now + 60_000);
}

#[test]
fn a_fleet_summary_is_added_to_by_every_node_and_drained_by_one() {
    use slack_alert_coordination::HeldCounts;
    let os = OpenSearch::shared();
    let node_a = Arc::new(os.store("held"));
    let node_b = Arc::new(os.store("held"));
    assert!(node_a.held("hook").unwrap().is_empty());
    assert_eq!(node_a.drain_held("hook", "nothing").unwrap(), None);
    let held = |n: u64, label: &str| HeldCounts {
        suppressed: n,
        repeats: 10 * n,
        top: vec![(label.to_string(), 11 * n)],
        rules: vec!["errors".into()],
        since_ms: 1_000 + n as i64,
        ..HeldCounts::default()
    };
    let threads: Vec<_> = (1..=8u64)
        .map(|n| {
            let store = if n % 2 == 0 {
                node_a.clone()
            } else {
                node_b.clone()
            };
            thread::spawn(move || {
                store
                    .add_held("hook", &held(n, if n <= 4 { "low" } else { "high" }), 9_000)
                    .unwrap()
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let all = node_b.held("hook").unwrap();
    assert_eq!(
        (all.suppressed, all.repeats, all.since_ms),
        (36, 360, 1_001)
    );
    // Two nodes drain at once: one gets everything, the other nothing.
    let (a, b) = (node_a.drainer_id(), node_b.drainer_id());
    let (sa, sb) = (node_a.clone(), node_b.clone());
    let (ta, tb) = (a.clone(), b.clone());
    let first = thread::spawn(move || sa.drain_held("hook", &ta).unwrap());
    let second = thread::spawn(move || sb.drain_held("hook", &tb).unwrap());
    let drained: Vec<HeldCounts> = [first.join().unwrap(), second.join().unwrap()]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(drained.len(), 1, "exactly one drain");
    let d = &drained[0];
    assert_eq!((d.suppressed, d.repeats), (36, 360));
    assert_eq!(
        d.top,
        vec![("high".to_string(), 11 * 26), ("low".to_string(), 11 * 10)]
    );
    assert_eq!(d.rules, vec!["errors".to_string()]);
    // The winner's drain sent again answers the same counts; nothing is left for anyone else.
    assert!(node_a.held("hook").unwrap().is_empty());
    let again: Vec<HeldCounts> = [a, b]
        .iter()
        .filter_map(|id| node_a.drain_held("hook", id).unwrap())
        .collect();
    assert_eq!(again, vec![d.clone()], "idempotent for its drainer only");
    assert_eq!(
        node_b.drain_held("hook", &node_b.drainer_id()).unwrap(),
        None
    );
}

#[test]
fn delete_expired_removes_only_expired_documents() {
    let store = OpenSearch::shared().store("expiry");
    let now = now_ms();
    for i in 0..3 {
        store
            .claim(&format!("old-{i}"), &claim_doc("node-a", 1, now - 1_000))
            .unwrap();
        store
            .claim(
                &format!("new-{i}"),
                &claim_doc("node-a", 1, now + 3_600_000),
            )
            .unwrap();
    }
    store.set_not_before("hook", now).unwrap();
    // A search sees a write once the index refreshes (about a second): poll until all are gone.
    let mut deleted = 0;
    eventually(
        Duration::from_secs(60),
        "the expired incidents deleted",
        || {
            deleted += store.delete_expired(now).unwrap();
            (0..3)
                .all(|i| store.get(&format!("old-{i}")).unwrap().is_none())
                .then_some(())
        },
    );
    assert_eq!(deleted, 3);
    for i in 0..3 {
        assert!(store.get(&format!("new-{i}")).unwrap().is_some(), "new-{i}");
    }
    assert_eq!(
        store.pace("hook").unwrap().not_before_ms,
        now,
        "the pace document lives a day longer"
    );
    assert_eq!(store.delete_expired(now).unwrap(), 0);
}

#[test]
fn the_next_host_answers_when_the_first_refuses_connections_or_fails() {
    let os = OpenSearch::shared();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let failing = FakeServer::start(|_| {
        Reply::Status(
            503,
            r#"{"error":{"type":"unavailable"},"status":503}"#.into(),
        )
    });
    let mut settings = StoreSettings::new(vec![
        format!("http://{closed}"),
        failing.url(),
        os.url().to_string(),
    ]);
    settings.index = "failover".into();
    settings.timeout = Duration::from_secs(30);
    let store = Store::new(settings).unwrap();
    store.ensure_index().unwrap();
    assert!(matches!(
        store
            .claim("x", &claim_doc("node-a", 1, far_future()))
            .unwrap(),
        Claim::Owned { .. }
    ));
    let seen = failing.requests().len();
    assert!(seen >= 1, "the failing host was tried");
    // The node that answered is tried first from now on.
    assert_eq!(store.get("x").unwrap().unwrap().doc.owner, "node-a");
    assert_eq!(failing.requests().len(), seen);
}

#[test]
fn a_report_marked_with_a_stale_seq_no_is_refused_and_a_late_add_sees_the_report() {
    let store = OpenSearch::shared().store("report-cas");
    store
        .claim("inc", &claim_doc("node-a", 1, far_future()))
        .unwrap();
    let read = store
        .add_counts("inc", "node-a", 4, now_ms(), &[])
        .unwrap()
        .unwrap();
    // A follower's flush lands between the owner's read and its mark.
    store
        .add_counts("inc", "node-b", 2, now_ms(), &[])
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .mark_reported_if(
                "inc",
                read.doc.count,
                now_ms(),
                read.seq_no,
                read.primary_term
            )
            .unwrap(),
        Cas::Stale
    );
    let again = store.get("inc").unwrap().unwrap();
    assert_eq!(again.doc.count, 7);
    assert!(matches!(
        store
            .mark_reported_if("inc", 7, now_ms(), again.seq_no, again.primary_term)
            .unwrap(),
        Cas::Done { .. }
    ));
    // A flush after the report: its node reads that the report did not carry it.
    let late = store
        .add_counts("inc", "node-c", 3, now_ms(), &[])
        .unwrap()
        .unwrap();
    assert_eq!(late.doc.reported_count, Some(7));
    assert_eq!(late.doc.count, 10);
    assert_eq!(
        store.mark_reported_if("gone", 1, now_ms(), 0, 1).unwrap(),
        Cas::Missing
    );
}

#[test]
fn an_ended_incident_is_reopened_by_exactly_one_node() {
    let store = Arc::new(OpenSearch::shared().store("reopen"));
    store
        .claim("inc", &claim_doc("node-a", 5, far_future()))
        .unwrap();
    let ended = store.get("inc").unwrap().unwrap();
    store
        .mark_reported_if("inc", 5, now_ms(), ended.seq_no, ended.primary_term)
        .unwrap();
    let ended = store.get("inc").unwrap().unwrap();
    let barrier = Arc::new(Barrier::new(2));
    let results: Vec<Cas> = ["node-b", "node-c"]
        .into_iter()
        .map(|node| {
            let (store, barrier, ended) = (store.clone(), barrier.clone(), ended.clone());
            thread::spawn(move || {
                barrier.wait();
                store
                    .reopen(
                        "inc",
                        &claim_doc(node, 1, far_future()),
                        ended.seq_no,
                        ended.primary_term,
                    )
                    .unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let done = results
        .iter()
        .filter(|r| matches!(r, Cas::Done { .. }))
        .count();
    assert_eq!(done, 1, "{results:?}");
    assert!(results.contains(&Cas::Stale), "{results:?}");
    let now = store.get("inc").unwrap().unwrap().doc;
    assert!(now.owner == "node-b" || now.owner == "node-c");
    assert_eq!(now.count, 1, "a new incident: {now:?}");
    assert_eq!(now.reported_count, None);
    assert_eq!(now.counts.len(), 1);
}
