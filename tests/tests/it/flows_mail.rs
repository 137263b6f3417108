//! The `mail` operation end to end (operations-catalog.md §9): mails reach a real SMTP
//! server (a tiny one in `smtp_support`) with the rendered body and the headers Directus
//! sets, the operation resolves with null without waiting for the send, and the per-flow
//! rate limit (`RATE_LIMITER_EMAIL_FLOWS_*`) rejects with `EMAIL_LIMIT_EXCEEDED`.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::flows_support::*;
use crate::smtp_support::SmtpServer;
use e2e::{TestApp, both};
use engine::{EngineConfig, MailConfig, MailRateLimit};
use serde_json::{Value, json};

/// Which database a test runs on; the tests here need their own engine settings, so they
/// start the app themselves instead of using `both!`.
#[derive(Clone, Copy)]
enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    async fn app(self, config: EngineConfig) -> TestApp {
        match self {
            Db::Sqlite => TestApp::sqlite_with(config).await,
            Db::Postgres => TestApp::postgres_with(config).await,
        }
    }
}

/// `name::sqlite` and `name::postgres` from one body using `$db: Db` (the PostgreSQL one
/// has "postgres" in its path, so `--skip postgres` skips it).
macro_rules! on_both {
    ($name:ident, |$db:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $db = Db::Sqlite;
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let $db = Db::Postgres;
                $body.await
            }
        }
    };
}

/// The test engine sending through the SMTP server on `port` of 127.0.0.1, as
/// `"Flowline Test" <robot@example.com>` by default.
fn mail_config(port: u16) -> EngineConfig {
    EngineConfig {
        mail: MailConfig {
            from: "robot@example.com".into(),
            project_name: "Flowline Test".into(),
            smtp_host: Some("127.0.0.1".into()),
            smtp_port: Some(port),
            ..MailConfig::default()
        },
        ..e2e::test_engine()
    }
}

/// A webhook flow (POST) whose first operation is `mail` with these options, followed by a
/// transform that answers `{"sent": <label>}`.
async fn mail_flow(app: &TestApp, n: u32, label: &str, options: Value) -> Flow {
    FlowBuilder::webhook(n)
        .method("POST")
        .op("mail", "mail", options)
        .then("done", "transform", json!({"json": {"sent": label}}))
        .insert(app)
        .await
}

// ---------------------------------------------------------------------------------------
// rendering and headers

on_both!(markdown_mail_with_every_header, |db| async move {
    let mut smtp = SmtpServer::start().await;
    let app = db.app(mail_config(smtp.port())).await;
    let flow = FlowBuilder::webhook(1)
        .method("POST")
        .op(
            "mail",
            "mail",
            json!({
                "to": "ann@example.com, Bob <bob@example.com>",
                "cc": ["carl@example.com"],
                "bcc": "dora@example.com",
                "replyTo": "help@example.com",
                "subject": "Hello {{ $trigger.body.name }}",
                "fromName": "  Ops Team  ",
                "type": "markdown",
                "body": "# Hi **{{ $trigger.body.name }}**\n\n  Welcome aboard.   \n",
            }),
        )
        .then(
            "after",
            "transform",
            json!({"json": {"mail": "{{ mail }}", "last": "{{ $last }}"}}),
        )
        .insert(&app)
        .await;
    assert_json(
        &post(&app, &flow.url(), json!({"name": "Ann"})).await,
        200,
        json!({"mail": null, "last": null}),
    );
    assert_eq!(
        smtp.next().await.summary(),
        json!({
            "envelope": {
                "from": "robot@example.com",
                "to": ["ann@example.com", "bob@example.com", "carl@example.com", "dora@example.com"],
            },
            "from": ["Ops Team <robot@example.com>"],
            "to": ["ann@example.com", "Bob <bob@example.com>"],
            "cc": ["carl@example.com"],
            "bcc": null,
            "reply_to": ["help@example.com"],
            "subject": "Hello Ann",
            "content_type": "text/html; charset=utf-8",
            "html": "<h1>Hi <strong>Ann</strong></h1>\n<p>Welcome aboard.</p>\n",
        })
    );
    smtp.assert_none(Duration::from_millis(300)).await;
});

on_both!(the_default_sender_is_the_project_name, |db| async move {
    let mut smtp = SmtpServer::start().await;
    let app = db.app(mail_config(smtp.port())).await;
    // No subject, a blank `fromName`, an unknown `type` (markdown) and an object body
    // (its JSON text).
    let flow = mail_flow(
        &app,
        1,
        "one",
        json!({
            "to": ["ann@example.com", "bob@example.com"],
            "fromName": "   ",
            "type": "plain",
            "body": "{{ $trigger.body.obj }}",
        }),
    )
    .await;
    assert_json(
        &post(&app, &flow.url(), json!({"obj": {"a": 1, "b": "<i>x</i>"}})).await,
        200,
        json!({"sent": "one"}),
    );
    assert_eq!(
        smtp.next().await.summary(),
        json!({
            "envelope": {"from": "robot@example.com", "to": ["ann@example.com", "bob@example.com"]},
            "from": ["Flowline Test <robot@example.com>"],
            "to": ["ann@example.com", "bob@example.com"],
            "cc": null,
            "bcc": null,
            "reply_to": null,
            "subject": null,
            "content_type": "text/html; charset=utf-8",
            "html": "<p>{\"a\":1,\"b\":\"<i>x</i>\"}</p>\n",
        })
    );
});

on_both!(
    wysiwyg_bodies_are_raw_html_with_trimmed_lines,
    |db| async move {
        let mut smtp = SmtpServer::start().await;
        let app = db.app(mail_config(smtp.port())).await;
        let flow = mail_flow(
            &app,
            1,
            "raw",
            json!({
                "to": "ann@example.com",
                "subject": "Raw",
                "type": "wysiwyg",
                "body": "  <div class=\"card\">\n    <p onclick=\"go()\">Hi {{ $trigger.body.name }} <img src=\"https://example.com/a.png\"></p>\n\t</div>  \n",
            }),
        )
        .await;
        assert_json(
            &post(&app, &flow.url(), json!({"name": "Ann"})).await,
            200,
            json!({"sent": "raw"}),
        );
        assert_eq!(
            smtp.next().await.html(),
            "<div class=\"card\">\n<p onclick=\"go()\">Hi Ann <img src=\"https://example.com/a.png\"></p>\n</div>\n"
        );
    }
);

on_both!(markdown_is_sanitised, |db| async move {
    let mut smtp = SmtpServer::start().await;
    let app = db.app(mail_config(smtp.port())).await;
    let body = "Hello <script>alert(1)</script>**there**\n\n\
                <script>\nsteal()\n</script>\n\n\
                [x](javascript:alert(1)) <a href=\"https://example.com\" onclick=\"x()\" style=\"color:red\">ok</a>\n\n\
                <p class=\"c\"><img src=\"https://example.com/t.png\">text</p>\n";
    let flow = mail_flow(
        &app,
        1,
        "clean",
        json!({"to": "ann@example.com", "subject": "Clean", "body": body}),
    )
    .await;
    assert_json(
        &post(&app, &flow.url(), json!({})).await,
        200,
        json!({"sent": "clean"}),
    );
    assert_eq!(
        smtp.next().await.html(),
        "<p>Hello <strong>there</strong></p>\n\n<p><a>x</a> <a href=\"https://example.com\">ok</a></p>\n<p>text</p>\n"
    );
});

// ---------------------------------------------------------------------------------------
// templates

/// Writes `<dir>/<name>.liquid`.
fn write_template(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(format!("{name}.liquid")), text).expect("write template");
}

on_both!(
    templates_come_from_the_folder_then_the_builtin_ones,
    |db| async move {
        let mut smtp = SmtpServer::start().await;
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("templates");
        std::fs::create_dir(&dir).expect("templates dir");
        write_template(
            &dir,
            "welcome",
            "<p>Hello {{ name }}, from {{ projectName }}</p>\n    {% include \"signature\" %}\n",
        );
        write_template(&dir, "signature", "<p>-- {{ team }}</p>");
        // Outside the folder: a template name may not reach it.
        write_template(root.path(), "outside", "<p>secret</p>");
        let mut config = mail_config(smtp.port());
        config.mail.templates_path = Some(dir.clone());
        let app = db.app(config).await;

        let template = |name: Option<&str>, data: Value, subject: &str| {
            let mut options = json!({
                "to": "ann@example.com",
                "subject": subject,
                "type": "template",
                "data": data,
                "body": "ignored for templates",
            });
            if let Some(name) = name {
                options["template"] = json!(name);
            }
            options
        };
        let welcome = mail_flow(
            &app,
            1,
            "welcome",
            template(
                Some("welcome"),
                json!({"name": "{{ $trigger.body.name }}", "team": "Ops"}),
                "Welcome",
            ),
        )
        .await;
        let missing = mail_flow(
            &app,
            2,
            "missing",
            template(Some("missing"), json!({}), "Missing"),
        )
        .await;
        let outside = mail_flow(
            &app,
            3,
            "outside",
            template(Some("../outside"), json!({}), "Outside"),
        )
        .await;
        let base = mail_flow(
            &app,
            4,
            "base",
            template(None, json!({"html": "<p>Body</p>"}), "Base"),
        )
        .await;

        assert_json(
            &post(&app, &welcome.url(), json!({"name": "Ann"})).await,
            200,
            json!({"sent": "welcome"}),
        );
        assert_eq!(
            smtp.next().await.summary()["html"],
            json!("<p>Hello Ann, from Flowline Test</p>\n<p>-- Ops</p>\n")
        );

        // An unknown template or one outside the folder is only logged: the run goes on and
        // nothing is sent.
        for (flow, label) in [(&missing, "missing"), (&outside, "outside")] {
            assert_json(
                &post(&app, &flow.url(), json!({})).await,
                200,
                json!({"sent": label}),
            );
        }
        assert_json(
            &post(&app, &base.url(), json!({})).await,
            200,
            json!({"sent": "base"}),
        );
        let mail = smtp.next().await.summary();
        assert_eq!(mail["subject"], json!("Base"));
        // The built-in layout: the data's `html` on a line of its own, the project's name,
        // and every line trimmed.
        let html = mail["html"].as_str().expect("html");
        let lines: Vec<&str> = html.lines().collect();
        assert_eq!(lines.first(), Some(&"<!doctype html>"), "{html}");
        for expected in [
            "<title>Flowline Test</title>",
            "<p>Body</p>",
            "Sent by Flowline Test",
        ] {
            assert!(lines.contains(&expected), "no line {expected:?} in {html}");
        }
        assert!(
            lines.iter().all(|l| l.trim() == *l),
            "untrimmed lines in {html}"
        );
        smtp.assert_none(Duration::from_millis(300)).await;
    }
);

// ---------------------------------------------------------------------------------------
// rate limit

/// The limiter of `RATE_LIMITER_EMAIL_FLOWS_*` with a 60 s window.
fn limited(port: u16, points: u32, message: Option<&str>) -> EngineConfig {
    let mut config = mail_config(port);
    config.mail.rate_limit = Some(MailRateLimit {
        points,
        duration: Duration::from_secs(60),
        message: message.map(str::to_string),
    });
    config
}

on_both!(the_rate_limit_rejects_a_flows_extra_mail, |db| async move {
    let mut smtp = SmtpServer::start().await;
    let app = db.app(limited(smtp.port(), 1, None)).await;
    let options = |subject: &str| json!({"to": "ann@example.com", "subject": subject, "body": "x"});
    let first = FlowBuilder::webhook(1)
        .method("POST")
        .option("error_on_reject", json!(true))
        .op("mail", "mail", options("first"))
        .then("done", "transform", json!({"json": {"sent": "first"}}))
        .insert(&app)
        .await;
    let second = mail_flow(&app, 2, "second", options("second")).await;

    assert_json(
        &post(&app, &first.url(), json!({})).await,
        200,
        json!({"sent": "first"}),
    );
    assert_json(
        &post(&app, &first.url(), json!({})).await,
        429,
        json!({"errors": [{
            "message": "Email sending limit exceeded. Limit 1 mails per 1 minute.",
            "extensions": {"points": 1, "duration": 60, "code": "EMAIL_LIMIT_EXCEEDED"},
        }]}),
    );
    // Another flow has its own window.
    assert_json(
        &post(&app, &second.url(), json!({})).await,
        200,
        json!({"sent": "second"}),
    );
    let mut subjects = vec![
        smtp.next().await.summary()["subject"].clone(),
        smtp.next().await.summary()["subject"].clone(),
    ];
    subjects.sort_by_key(Value::to_string);
    assert_eq!(subjects, [json!("first"), json!("second")]);
    smtp.assert_none(Duration::from_millis(300)).await;
});

on_both!(a_configured_message_and_the_reject_path, |db| async move {
    let mut smtp = SmtpServer::start().await;
    let app = db
        .app(limited(
            smtp.port(),
            2,
            Some("Too many mails from this flow."),
        ))
        .await;
    let flow = FlowBuilder::webhook(1)
        .method("POST")
        .op(
            "mail",
            "mail",
            json!({"to": "ann@example.com", "subject": "{{ $trigger.body.n }}", "body": "x"}),
        )
        .then(
            "done",
            "transform",
            json!({"json": {"sent": "{{ $trigger.body.n }}"}}),
        )
        .op(
            "failed",
            "transform",
            json!({"json": {"error": "{{ $last }}"}}),
        )
        .reject("mail", "failed")
        .insert(&app)
        .await;
    for n in [1, 2] {
        assert_json(
            &post(&app, &flow.url(), json!({"n": n})).await,
            200,
            json!({"sent": n}),
        );
    }
    assert_json(
        &post(&app, &flow.url(), json!({"n": 3})).await,
        200,
        json!({"error": {
            "name": "DirectusError",
            "extensions": {"points": 2, "duration": 60, "message": "Too many mails from this flow."},
            "code": "EMAIL_LIMIT_EXCEEDED",
            "status": 429,
        }}),
    );
    // The same error over HTTP, from a flow that throws on reject.
    let throwing = FlowBuilder::webhook(2)
        .method("POST")
        .option("error_on_reject", json!(true))
        .op(
            "mail",
            "mail",
            json!({"to": "ann@example.com", "body": "x"}),
        )
        .insert(&app)
        .await;
    for _ in 0..2 {
        assert_no_content(&post(&app, &throwing.url(), json!({})).await);
    }
    assert_json(
        &post(&app, &throwing.url(), json!({})).await,
        429,
        json!({"errors": [{
            "message": "Too many mails from this flow.",
            "extensions": {
                "points": 2,
                "duration": 60,
                "message": "Too many mails from this flow.",
                "code": "EMAIL_LIMIT_EXCEEDED",
            },
        }]}),
    );
    for _ in 0..4 {
        smtp.next().await;
    }
    smtp.assert_none(Duration::from_millis(300)).await;
});

// ---------------------------------------------------------------------------------------
// sending failures never fail the run

both!(
    without_an_smtp_server_the_run_still_succeeds,
    |app| async move {
        // The test engine configures no SMTP host.
        assert_eq!(app.state.engine.config().mail.smtp_host, None);
        let flow = mail_flow(
            &app,
            1,
            "nowhere",
            json!({"to": "ann@example.com", "subject": "Hi", "body": "# Hi"}),
        )
        .await;
        assert_json(
            &post(&app, &flow.url(), json!({})).await,
            200,
            json!({"sent": "nowhere"}),
        );
    }
);

on_both!(the_run_does_not_wait_for_the_send, |db| async move {
    // A server that accepts the connection and never greets: the send hangs, the run not.
    let silent = SmtpServer::silent().await;
    let app = db.app(mail_config(silent.port())).await;
    let flow = mail_flow(
        &app,
        1,
        "queued",
        json!({"to": "ann@example.com", "subject": "Hi", "body": "x"}),
    )
    .await;
    let started = Instant::now();
    assert_json(
        &post(&app, &flow.url(), json!({})).await,
        200,
        json!({"sent": "queued"}),
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the run waited {:?}",
        started.elapsed()
    );
});
