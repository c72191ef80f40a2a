//! The `boxoffice` binary end to end, in embedded mode on a temporary data
//! directory: each invocation starts the engine, runs one command and shuts
//! the engine down, so these also check that a data directory is reopened
//! cleanly, one process after the other.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn boxoffice(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .env_remove("BOXOFFICE_ENDPOINTS")
        .env_remove("BOXOFFICE_DATA_DIR")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run the boxoffice binary")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit status")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Run and require the exit status; show the output if it differs.
fn expect(dir: &Path, args: &[&str], status: i32) -> Output {
    let output = boxoffice(dir, args);
    assert_eq!(
        code(&output),
        status,
        "boxoffice {args:?}\nstdout:\n{}\nstderr:\n{}",
        stdout(&output),
        stderr(&output)
    );
    output
}

/// Every stdout line as JSON.
fn json_lines(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

/// The one JSON object a command printed.
fn json(output: &Output) -> Value {
    let mut lines = json_lines(output);
    assert_eq!(lines.len(), 1, "one JSON object expected: {}", stdout(output));
    lines.remove(0)
}

/// The id of the JSON write result of command `kind` at `index` among them.
fn created(results: &[Value], kind: &str, index: usize) -> u64 {
    results
        .iter()
        .filter(|r| r["command"] == kind)
        .nth(index)
        .and_then(|r| r["id"].as_u64())
        .unwrap_or_else(|| panic!("no {kind} #{index} in {results:?}"))
}

#[test]
fn demo_then_hold_checkout_pay_and_show_the_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();

    let demo = json_lines(&expect(dir, &["--json", "demo"], 0));
    assert!(demo.iter().filter(|r| r["command"].is_string()).all(|r| r["accepted"] == true), "{demo:?}");
    assert!(demo.iter().all(|r| r.get("command").is_none() || r["request_id"].as_str().unwrap().len() == 32));
    let event = created(&demo, "create_event", 0);
    let saturday = created(&demo, "create_item", 0);
    let weekend = created(&demo, "create_item", 2);
    let saturday_quota = created(&demo, "create_quota", 0);
    let catalog = demo.last().expect("catalog");
    assert_eq!(catalog["event"]["slug"], "summer-fest");
    assert_eq!(catalog["items"].as_array().unwrap().len(), 3);
    assert_eq!(catalog["quotas"][0]["size"], 1000);

    // The catalog in text, with the id in its display form.
    let text = stdout(&expect(dir, &["catalog", "--event", &format!("ev-{event}")], 0));
    assert!(text.contains("summer-fest \"Summer Festival\""), "{text}");
    assert!(text.contains("\"Weekend pass\"") && text.contains("89.00"), "{text}");
    assert!(text.contains(&format!("quota quota-{saturday_quota}: Ok, 1000 left")), "{text}");

    // Hold two Saturday tickets and a weekend pass, check out, pay.
    let line = format!("{saturday}:2,item-{weekend}:1");
    let hold =
        json(&expect(dir, &["--json", "hold", "place", "--event", &event.to_string(), "--line", &line], 0));
    assert_eq!(hold["label"], "accepted/hold_live");
    let hold_id = hold["id"].as_u64().unwrap().to_string();
    let text = stdout(&expect(dir, &["hold", "show", "--hold", &hold_id], 0));
    assert!(text.contains("active until"), "{text}");

    let checkout = stdout(&expect(dir, &["checkout", "--hold", &format!("hold-{hold_id}")], 0));
    assert!(checkout.starts_with("accepted: order order-"), "{checkout}");
    assert!(checkout.contains("3 tickets, total 187.00"), "{checkout}");
    assert!(checkout.contains("(request "), "{checkout}");
    let order_id: String =
        checkout["accepted: order order-".len()..].chars().take_while(char::is_ascii_digit).collect();

    let pay = stdout(&expect(dir, &["pay", "--order", &order_id], 0));
    assert!(pay.starts_with(&format!("accepted: order order-{order_id} paid (request ")), "{pay}");
    // Paying again is refused by the domain.
    let again = stdout(&expect(dir, &["pay", "--order", &order_id], 1));
    assert!(again.starts_with("rejected: not allowed"), "{again}");

    let order = json(&expect(dir, &["--json", "order", "show", "--order", &order_id], 0));
    assert_eq!(order["status"], "Paid");
    assert_eq!(order["total_cents"], 18_700);
    assert_eq!(order["tickets"].as_array().unwrap().len(), 3);
    let secret = order["tickets"][0]["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32);

    // Check the first ticket in at the demo's gate.
    let list = created(&demo, "create_checkin_list", 0).to_string();
    let scan = stdout(&expect(dir, &["checkin", "--list", &list, "--secret", &secret], 0));
    assert!(scan.starts_with("accepted: entry of ticket 0"), "{scan}");
    let scan = stdout(&expect(dir, &["checkin", "--list", &list, "--secret", &secret], 1));
    assert!(scan.starts_with("rejected: check-in refused"), "{scan}");

    let availability =
        json(&expect(dir, &["--json", "availability", "--quota", &saturday_quota.to_string()], 0));
    assert_eq!(availability["paid"], 3);
    assert_eq!(availability["remaining"], 997);

    // The log: the demo's eight writes come first.
    let records = json_lines(&expect(dir, &["--json", "events", "tail", "--limit", "8"], 0));
    assert_eq!(records.len(), 8);
    assert_eq!(records[0]["seq"], 1);
    assert_eq!(records[0]["kinds"][0], "OrganizerCreated");
    let tail = stdout(&expect(dir, &["events", "tail", "--from", "9"], 0));
    assert!(tail.lines().any(|l| l.contains("OrderPaid") && l.contains("accepted/order_paid")), "{tail}");

    // Loading the demo again only shows it.
    let again = stdout(&expect(dir, &["demo"], 0));
    assert!(again.contains("already loaded"), "{again}");
    assert!(again.contains("Summer Festival"), "{again}");
}

#[test]
fn a_sold_out_hold_exits_1_and_a_retry_with_the_request_id_repeats_the_outcome() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let id = |output: &Output| json(output)["id"].as_u64().expect("id").to_string();

    let organizer =
        id(&expect(dir, &["--json", "organizer", "create", "--slug", "tiny", "--name", "Tiny"], 0));
    let found = json(&expect(dir, &["--json", "organizer", "find", "--slug", "tiny"], 0));
    assert_eq!(found["organizer"].to_string(), organizer);
    let event = id(&expect(
        dir,
        &["--json", "event", "create", "--organizer", &organizer, "--slug", "gig", "--name", "Gig"],
        0,
    ));
    let item = id(&expect(
        dir,
        &["--json", "item", "create", "--event", &event, "--name", "Standing", "--price-cents", "1500"],
        0,
    ));
    let quota = stdout(&expect(
        dir,
        &["quota", "create", "--event", &event, "--name", "Hall", "--size", "1", "--items", &item],
        0,
    ));
    assert!(quota.starts_with("accepted: quota quota-"), "{quota}");

    let request = "00112233445566778899aabbccddeeff";
    let first = stdout(&expect(
        dir,
        &["--request-id", request, "hold", "place", "--event", &event, "--line", &format!("{item}:1")],
        0,
    ));
    assert!(first.starts_with("accepted: hold hold-"), "{first}");
    assert!(first.contains(&format!("(request {request})")), "{first}");

    // The same request id again: the first outcome, not a second hold.
    let retry = stdout(&expect(
        dir,
        &["--request-id", request, "hold", "place", "--event", &event, "--line", &format!("{item}:1")],
        0,
    ));
    assert_eq!(retry.split(" (request").next(), first.split(" (request").next());
    assert!(retry.contains("answered from an earlier attempt"), "{retry}");

    // A new request: sold out, exit 1, with the request id printed.
    let sold_out = boxoffice(dir, &["hold", "place", "--event", &event, "--line", &format!("item-{item}:1")]);
    assert_eq!(code(&sold_out), 1, "{}{}", stdout(&sold_out), stderr(&sold_out));
    let text = stdout(&sold_out);
    assert!(text.starts_with("rejected: sold out — quota quota-"), "{text}");
    assert!(text.contains("has 0 left (state Reserved)"), "{text}");
    assert!(text.contains("(request "), "{text}");

    let sold_out = json(&expect(dir, &["--json", "hold", "place", "--event", &event, "--line", &item], 1));
    assert_eq!(sold_out["label"], "rejected/sold_out");
    assert_eq!(sold_out["accepted"], false);
    assert_eq!(sold_out["request_id"].as_str().unwrap().len(), 32);
}

#[test]
fn usage_errors_exit_2_and_missing_objects_exit_4() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();

    let malformed = expect(dir, &["hold", "place", "--event", "1", "--line", "x:y"], 2);
    assert!(stderr(&malformed).contains("ITEM:QTY"), "{}", stderr(&malformed));
    expect(dir, &["hold", "place", "--event", "1", "--line", "3:0"], 2);
    expect(dir, &["quota", "create", "--event", "1", "--name", "q", "--items", "2"], 2);
    expect(dir, &["pay", "--order", "hold-3"], 2);
    expect(dir, &["--request-id", "123", "pay", "--order", "3"], 2);

    // Neither --endpoints nor --data-dir.
    let nowhere = Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .env_remove("BOXOFFICE_ENDPOINTS")
        .env_remove("BOXOFFICE_DATA_DIR")
        .args(["catalog", "--event", "1"])
        .output()
        .expect("run");
    assert_eq!(code(&nowhere), 2);
    assert!(stderr(&nowhere).contains("--data-dir"), "{}", stderr(&nowhere));

    // Cluster administration needs a cluster: an invalid request.
    expect(dir, &["cluster", "remove", "--id", "2"], 2);

    // Reads of objects that do not exist.
    let missing = expect(dir, &["order", "show", "--order", "42"], 4);
    assert!(stderr(&missing).contains("no order order-42"), "{}", stderr(&missing));
    let missing = json(&expect(dir, &["--json", "catalog", "--event", "42"], 4));
    assert_eq!(missing["error"], "not_found");

    // The embedded node reports itself.
    let status = stdout(&expect(dir, &["cluster", "status"], 0));
    assert!(status.contains("leader"), "{status}");
}

#[test]
fn a_request_id_reused_for_a_different_command_exits_5_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let request = "0f0e0d0c0b0a09080706050403020100";
    expect(dir, &["--request-id", request, "organizer", "create", "--slug", "first", "--name", "First"], 0);

    // The same request id with another command: a conflict, not the first outcome.
    let reused = expect(dir, &["pay", "--order", "order-1", "--request-id", request], 5);
    let text = stdout(&reused);
    assert!(text.starts_with("rejected: conflict"), "{text}");
    assert!(text.contains("request id was already used for a different command"), "{text}");
    let reused = json(&expect(dir, &["--json", "pay", "--order", "1", "--request-id", request], 5));
    assert_eq!(reused["label"], "rejected/conflict");

    // The original command with its request id still gets its own outcome.
    let again = stdout(&expect(
        dir,
        &["--request-id", request, "organizer", "create", "--slug", "first", "--name", "First"],
        0,
    ));
    assert!(again.contains("answered from an earlier attempt"), "{again}");
}

#[test]
fn the_shops_commands_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let demo = json_lines(&expect(dir, &["--json", "demo"], 0));
    let organizer = created(&demo, "create_organizer", 0).to_string();
    let event = created(&demo, "create_event", 0).to_string();
    let saturday = created(&demo, "create_item", 0);

    // Events of an organizer, and one found by slug.
    let list = stdout(&expect(dir, &["event", "list", "--organizer", &format!("org-{organizer}")], 0));
    assert!(list.contains(&format!("ev-{event}: summer-fest \"Summer Festival\"")), "{list}");
    let found = json(&expect(
        dir,
        &["--json", "event", "find", "--organizer", &organizer, "--slug", "summer-fest"],
        0,
    ));
    assert_eq!(found["id"].to_string(), event);
    expect(dir, &["event", "find", "--organizer", &organizer, "--slug", "winter-fest"], 4);
    // The catalog lists the check-in lists.
    let catalog = stdout(&expect(dir, &["catalog", "--event", &event], 0));
    assert!(catalog.contains("\"Main gate\": re-entry after exit allowed"), "{catalog}");

    // A cart that shrinks, then checks out with the buyer's contact.
    let line = format!("{saturday}:3");
    let hold = json(&expect(dir, &["--json", "hold", "place", "--event", &event, "--line", &line], 0));
    let hold = hold["id"].as_u64().unwrap().to_string();
    let removed =
        stdout(&expect(dir, &["hold", "remove", "--hold", &hold, "--line", &format!("{saturday}:1")], 0));
    assert!(removed.starts_with("accepted: hold hold-"), "{removed}");
    let too_many =
        stdout(&expect(dir, &["hold", "remove", "--hold", &hold, "--line", &format!("{saturday}:5")], 1));
    assert!(too_many.contains("the hold has less of item"), "{too_many}");
    let shown = stdout(&expect(dir, &["hold", "show", "--hold", &hold], 0));
    assert!(shown.contains(&format!("item-{saturday} x2")), "{shown}");
    let bad = expect(dir, &["checkout", "--hold", &hold, "--name", "Ada", "--email", "ada.example.org"], 2);
    assert!(stderr(&bad).contains("exactly one @"), "{}", stderr(&bad));
    let checkout = json(&expect(
        dir,
        &["--json", "checkout", "--hold", &hold, "--name", "Ada Lovelace", "--email", "ada@example.org"],
        0,
    ));
    assert_eq!(checkout["command"], "checkout_with_contact");
    let order = checkout["id"].as_u64().unwrap().to_string();
    let shown = stdout(&expect(dir, &["order", "show", "--order", &order], 0));
    assert!(shown.contains("bought by Ada Lovelace <ada@example.org>"), "{shown}");
    let shown = json(&expect(dir, &["--json", "order", "show", "--order", &order], 0));
    assert_eq!(shown["contact"]["email"], "ada@example.org");

    // A waiting room: configure, join twice (once retried), show.
    let none = stdout(&expect(dir, &["room", "show", "--event", &event], 0));
    assert!(none.contains("has no waiting room"), "{none}");
    expect(dir, &["room", "join", "--event", &event], 1);
    let room = ["room", "configure", "--event", &event, "--admit-per-minute", "1"];
    expect(dir, &[&room[..], &["--arrivals-per-second-max", "10", "--in-flight-max", "100"]].concat(), 0);
    expect(dir, &[&room[..], &["--arrivals-per-second-max", "0", "--in-flight-max", "100"]].concat(), 2);
    let request = "aa112233445566778899aabbccddeeff";
    let first =
        json(&expect(dir, &["--json", "--request-id", request, "room", "join", "--event", &event], 0));
    assert_eq!(first["outcome"]["Accepted"]["WaitingRoomJoined"]["position"], 1);
    let second = json(&expect(dir, &["--json", "room", "join", "--event", &event], 0));
    assert_eq!(second["outcome"]["Accepted"]["WaitingRoomJoined"]["position"], 2);
    let retry =
        json(&expect(dir, &["--json", "--request-id", request, "room", "join", "--event", &event], 0));
    assert_eq!(retry["outcome"], first["outcome"]);
    assert_eq!(retry["duplicate"], true);
    let shown = json(&expect(dir, &["--json", "room", "show", "--event", &event], 0));
    assert_eq!(
        (shown["room"]["joined"].as_u64(), shown["room"]["admit_per_minute"].as_u64()),
        (Some(2), Some(1))
    );
    let shown = stdout(&expect(dir, &["room", "show", "--event", &event], 0));
    assert!(shown.contains("2 joined"), "{shown}");
}

#[test]
fn variations_order_limits_and_vouchers_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let demo = json_lines(&expect(dir, &["--json", "demo"], 0));
    let event = created(&demo, "create_event", 0).to_string();
    let saturday = created(&demo, "create_item", 0).to_string();
    let sunday = created(&demo, "create_item", 1).to_string();

    // A variation is an item of its own; its item is then sold only as one of them.
    let variation = json(&expect(
        dir,
        &["--json", "item", "variation", "--item", &saturday, "--name", "Student", "--price-cents", "2500"],
        0,
    ));
    assert_eq!(variation["command"], "create_variation");
    let student = variation["id"].as_u64().unwrap().to_string();
    let plain = stdout(&expect(dir, &["hold", "place", "--event", &event, "--line", &saturday], 1));
    assert!(plain.contains("variation"), "{plain}");

    // Order limits: a minimum per order, and a buyer that must be named.
    let limits = stdout(&expect(
        dir,
        &["item", "limits", "--item", &student, "--min-per-order", "2", "--max-per-buyer", "3"],
        0,
    ));
    assert!(limits.contains("at least 2 per order, at most 3 per buyer"), "{limits}");
    let one = format!("{student}:1");
    let two = format!("{student}:2");
    let buyer = "0123456789abcdef0123456789abcdef";
    let below =
        stdout(&expect(dir, &["hold", "place", "--event", &event, "--line", &one, "--buyer", buyer], 1));
    assert!(below.contains("at least 2"), "{below}");
    let nameless = stdout(&expect(dir, &["hold", "place", "--event", &event, "--line", &two], 1));
    assert!(nameless.contains("buyer"), "{nameless}");
    expect(dir, &["hold", "place", "--event", &event, "--line", &two, "--buyer", buyer], 0);
    let over =
        stdout(&expect(dir, &["hold", "place", "--event", &event, "--line", &two, "--buyer", buyer], 1));
    assert!(over.contains("at most 3"), "{over}");
    expect(dir, &["hold", "place", "--event", &event, "--line", &two, "--buyer", "xyz"], 2);

    // A voucher for Sunday, redeemed once, then used up; its status by code and by id.
    let created_voucher = json(&expect(
        dir,
        &["--json", "voucher", "create", "--event", &event, "--item", &sunday, "--max-redemptions", "1"],
        0,
    ));
    let voucher = created_voucher["id"].as_u64().unwrap();
    let code = created_voucher["outcome"]["Accepted"]["VoucherCreated"]["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 16, "{code}");
    expect(dir, &["voucher", "create", "--event", &event], 2);
    let shown = json(&expect(dir, &["--json", "voucher", "show", "--code", &code.to_lowercase()], 0));
    assert_eq!((shown["voucher"].as_u64(), shown["remaining"].as_u64()), (Some(voucher), Some(1)));
    expect(dir, &["hold", "place", "--event", &event, "--line", &sunday, "--voucher", &code], 0);
    let again =
        stdout(&expect(dir, &["hold", "place", "--event", &event, "--line", &sunday, "--voucher", &code], 1));
    assert!(again.contains("voucher"), "{again}");
    let shown = stdout(&expect(dir, &["voucher", "show", "--voucher", &format!("voucher-{voucher}")], 0));
    assert!(shown.contains("used up") && shown.contains("1 of 1 redeemed, 0 left"), "{shown}");
    expect(dir, &["voucher", "show", "--code", "0000000000000000"], 4);
}

#[test]
fn seats_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let demo = json_lines(&expect(dir, &["--json", "demo"], 0));
    let event = created(&demo, "create_event", 0).to_string();
    let sunday = created(&demo, "create_item", 1).to_string();

    // A row of five Sunday seats: their ids are consecutive from the first.
    let spec = format!("1..4={sunday}");
    let fifth = format!("5={sunday}");
    let row = json(&expect(
        dir,
        &[
            "--json", "seats", "add-row", "--event", &event, "--zone", "Stalls", "--row", "A", "--seat",
            &spec, "--seat", &fifth,
        ],
        0,
    ));
    assert_eq!(row["command"], "add_seat_row");
    let first = row["id"].as_u64().unwrap();
    assert_eq!(row["outcome"]["Accepted"]["SeatRowAdded"]["count"], 5);
    let seat = |i: u64| format!("seat-{}", first + i);
    let again = stdout(&expect(
        dir,
        &["seats", "add-row", "--event", &event, "--zone", "Stalls", "--row", "A", "--seat", &fifth],
        1,
    ));
    assert!(again.contains("row of this name"), "{again}");

    // The map shows them free, with their ids.
    let map = stdout(&expect(dir, &["seats", "map", "--event", &event], 0));
    assert!(map.contains("5 seats, 5 free"), "{map}");
    assert!(map.contains(&format!("Stalls row A ({}..{}): 1:F 2:F 3:F 4:F 5:F", seat(0), seat(4))), "{map}");

    // The best two adjacent seats are the middle ones; the map shows them held.
    let held = json(&expect(
        dir,
        &["--json", "seats", "hold", "--event", &event, "--zone", "Stalls", "--count", "2"],
        0,
    ));
    assert_eq!(held["command"], "place_seated_hold");
    let hold = held["id"].as_u64().unwrap();
    let seats: Vec<u64> = held["outcome"]["Accepted"]["SeatedHoldLive"]["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(seats, vec![first + 1, first + 2]);
    let map = json(&expect(dir, &["--json", "seats", "map", "--event", &event], 0));
    let states = &map["zones"][0]["rows"][0]["seats"];
    assert_eq!(states[1]["status"]["Held"], hold, "{map}");
    assert_eq!(states[0]["status"], "Free", "{map}");
    let text = stdout(&expect(dir, &["seats", "map", "--event", &event], 0));
    assert!(text.contains("1:F 2:H 3:H 4:F 5:F"), "{text}");

    // A free seat can be blocked, and then not held; a held one cannot be blocked.
    let blocked = stdout(&expect(dir, &["seats", "block", "--event", &event, "--seat", &seat(0)], 0));
    assert!(blocked.contains("1 seat(s) of event"), "{blocked}");
    let refused = stdout(&expect(dir, &["seats", "hold", "--event", &event, "--seat", &seat(0)], 1));
    assert!(refused.contains("blocked by the organizer"), "{refused}");
    let taken = stdout(&expect(dir, &["seats", "block", "--event", &event, "--seat", &seat(1)], 1));
    assert!(taken.contains("is taken"), "{taken}");
    let none =
        stdout(&expect(dir, &["seats", "hold", "--event", &event, "--zone", "Stalls", "--count", "3"], 1));
    assert!(none.contains("side by side"), "{none}");
    expect(dir, &["seats", "unblock", "--event", &event, "--seat", &seat(0)], 0);
    let text = stdout(&expect(dir, &["seats", "map", "--event", &event], 0));
    assert!(text.contains("1:F 2:H 3:H 4:F 5:F"), "{text}");

    // Usage errors and unknown objects.
    expect(dir, &["seats", "add-row", "--event", &event, "--zone", "Stalls", "--row", "B", "--seat", "1"], 2);
    expect(dir, &["seats", "block", "--event", &event, "--seat", "row-3"], 2);
    expect(dir, &["seats", "hold", "--event", &event, "--zone", "Stalls"], 2);
    expect(
        dir,
        &["seats", "hold", "--event", &event, "--seat", &seat(3), "--zone", "Stalls", "--count", "1"],
        2,
    );
    expect(dir, &["seats", "map", "--event", "999999"], 4);
    let unknown = stdout(&expect(dir, &["seats", "hold", "--event", &event, "--seat", "seat-999999"], 1));
    assert!(unknown.contains("no seat seat-999999"), "{unknown}");
}

#[test]
fn waiting_list_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let demo = json_lines(&expect(dir, &["--json", "demo"], 0));
    let event = created(&demo, "create_event", 0).to_string();

    // A new item with one ticket.
    let item = json(&expect(
        dir,
        &["--json", "item", "create", "--event", &event, "--name", "Encore", "--price-cents", "900"],
        0,
    ))["id"]
        .as_u64()
        .unwrap()
        .to_string();
    expect(
        dir,
        &["quota", "create", "--event", &event, "--name", "Encore", "--size", "1", "--items", &item],
        0,
    );

    // While it is available, joining is refused: buy it instead.
    let refused = stdout(&expect(dir, &["waitlist", "join", "--event", &event, "--item", &item], 1));
    assert!(
        refused.contains(&format!("item-{item} is not sold out: buy it instead of joining the waiting list")),
        "{refused}"
    );

    // Sold out by a hold: the first to join is first in line, the next second.
    let hold = json(&expect(
        dir,
        &["--json", "hold", "place", "--event", &event, "--line", &format!("{item}:1")],
        0,
    ))["id"]
        .as_u64()
        .unwrap()
        .to_string();
    let first = json(&expect(
        dir,
        &["--json", "waitlist", "join", "--event", &event, "--item", &format!("item-{item}")],
        0,
    ));
    assert_eq!(first["command"], "join_waiting_list");
    assert_eq!(first["outcome"]["Accepted"]["WaitingListJoined"]["position"], 1, "{first}");
    let first = format!("entry-{}", first["id"].as_u64().unwrap());
    let second = stdout(&expect(
        dir,
        &[
            "waitlist",
            "join",
            "--event",
            &event,
            "--item",
            &item,
            "--buyer",
            "0123456789abcdef0123456789abcdef",
        ],
        0,
    ));
    assert!(second.starts_with("accepted: joined the waiting list as entry-"), "{second}");
    assert!(second.contains("place 2"), "{second}");
    let second = second
        .split_whitespace()
        .find(|word| word.starts_with("entry-"))
        .unwrap()
        .trim_end_matches(',')
        .to_owned();

    let shown = stdout(&expect(dir, &["waitlist", "show", "--entry", &first], 0));
    assert!(shown.starts_with(&format!("{first} of item-{item}: waiting, place 1")), "{shown}");
    let shown = json(&expect(dir, &["--json", "waitlist", "show", "--entry", &second], 0));
    assert_eq!((shown["state"].as_str(), shown["position"].as_u64()), (Some("waiting"), Some(2)), "{shown}");
    // Nothing to claim yet.
    let early = stdout(&expect(dir, &["waitlist", "claim", "--entry", &first], 1));
    assert!(early.contains("has no offer to claim yet"), "{early}");

    // The blocking hold is released: the first in line is offered the ticket.
    expect(dir, &["hold", "release", "--hold", &hold], 0);
    let offered = stdout(&expect(dir, &["waitlist", "show", "--entry", &first], 0));
    assert!(offered.contains(": offered until 20"), "{offered}");
    let shown = json(&expect(dir, &["--json", "waitlist", "show", "--entry", &second], 0));
    assert_eq!(shown["position"], 1, "{shown}");

    // Claiming it makes a hold; the second entry leaves.
    let claimed =
        json(&expect(dir, &["--json", "waitlist", "claim", "--entry", &first, "--ttl-secs", "600"], 0));
    assert_eq!(claimed["command"], "claim_offer");
    let claim_hold = claimed["outcome"]["Accepted"]["HoldLive"]["hold"].as_u64().expect("a hold");
    let shown = stdout(&expect(dir, &["waitlist", "show", "--entry", &first], 0));
    assert!(shown.contains(&format!("claimed, as hold hold-{claim_hold}")), "{shown}");
    let again = stdout(&expect(dir, &["waitlist", "claim", "--entry", &first], 1));
    assert!(again.contains("was already claimed"), "{again}");
    let left = stdout(&expect(dir, &["waitlist", "leave", "--entry", &second], 0));
    assert!(left.starts_with(&format!("accepted: {second} left the waiting list")), "{left}");
    let shown = stdout(&expect(dir, &["waitlist", "show", "--entry", &second], 0));
    assert!(shown.contains(": left the waiting list"), "{shown}");
    let configured =
        stdout(&expect(dir, &["waitlist", "configure", "--event", &event, "--offer-ttl-secs", "600"], 0));
    assert!(configured.starts_with("accepted: waiting list of event ev-"), "{configured}");

    // Unknown entries and usage errors.
    expect(dir, &["waitlist", "show", "--entry", "entry-999999"], 4);
    let unknown = stdout(&expect(dir, &["waitlist", "leave", "--entry", "999999"], 1));
    assert!(unknown.contains("no waiting-list entry entry-999999"), "{unknown}");
    expect(dir, &["waitlist", "show", "--entry", "seat-3"], 2);
    expect(dir, &["waitlist", "show", "--entry", "entry-x"], 2);
    expect(dir, &["waitlist", "join", "--event", &event], 2);
}
