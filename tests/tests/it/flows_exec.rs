//! The `exec` (Run Script) operation end to end (operations-catalog.md §2): the script's
//! contract and sandbox, its results, how its failures reject, and the
//! `FLOWS_RUN_SCRIPT_TIMEOUT` / `FLOWS_RUN_SCRIPT_MAX_MEMORY` limits (flows-and-operations.md
//! §7).

use std::time::{Duration, Instant};

use crate::flows_support::*;
use e2e::{ADMIN_TOKEN, TestApp, both, test_engine};
use engine::{EngineConfig, ScriptLimits};
use serde_json::{Map, Value, json};

/// Like `both!`, with an engine configuration of the test's own.
macro_rules! both_with {
    ($name:ident, $config:expr, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = TestApp::sqlite_with($config).await;
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let $app = TestApp::postgres_with($config).await;
                $body.await
            }
        }
    };
}

/// Short limits, so that a runaway script fails fast.
fn tight(timeout_ms: u64, max_memory: usize) -> EngineConfig {
    EngineConfig {
        script: ScriptLimits {
            max_memory,
            timeout: Duration::from_millis(timeout_ms),
        },
        ..test_engine()
    }
}

/// A POST webhook flow answering `$last`, whose only operation runs `code`; with
/// `error_on_reject` when `strict`.
async fn script(app: &TestApp, n: u32, code: &str, strict: bool) -> Flow {
    let mut flow = FlowBuilder::webhook(n).method("POST");
    if strict {
        flow = flow.option("error_on_reject", json!(true));
    }
    flow.op("run", "exec", json!({ "code": code }))
        .insert(app)
        .await
}

/// Runs `code` (in a flow numbered `n`) and answers the chain value it left.
async fn run(app: &TestApp, n: u32, code: &str, body: Value) -> Value {
    let flow = script(app, n, code, false).await;
    let reply = post(app, &flow.url(), body).await;
    assert_eq!(reply.status, 200, "{code}: {}", reply.text);
    reply.json()
}

/// The chain value of a script error.
fn js_error(name: &str, message: &str) -> Value {
    json!({"name": name, "message": message})
}

/// The admin's answer when a strict webhook flow's script fails with `message`.
fn internal(message: &str) -> Value {
    json!({"errors": [{"message": message, "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]})
}

const TIMED_OUT: &str = "Script execution timed out.";
const OUT_OF_MEMORY: &str = "Isolate was disposed during execution due to memory limit";

// ---------------------------------------------------------------------------------------
// results

both!(a_sync_script_computes_from_the_trigger, |app| async move {
    let code = "module.exports = function (data) {\n\
                  return { sum: data.$trigger.body.a + data.$trigger.body.b };\n\
                };";
    assert_eq!(
        run(&app, 1, code, json!({"a": 2, "b": 40})).await,
        json!({"sum": 42})
    );
});

both!(an_async_script_is_awaited, |app| async move {
    let code = "module.exports = async function (data) {\n\
                  const n = await Promise.resolve(data.$trigger.body.n);\n\
                  const doubled = await new Promise((resolve) => resolve(n * 2));\n\
                  return [n, doubled, await (async () => 'chained')()];\n\
                };";
    assert_eq!(
        run(&app, 1, code, json!({"n": 21})).await,
        json!([21, 42, "chained"])
    );
});

both!(results_are_copied_out_as_json, |app| async move {
    // `undefined` becomes null, at the top and in objects; dates become ISO text, functions
    // drop out, and NaN becomes null, as when Directus serialises the chain.
    let code = "module.exports = () => ({\n\
                  missing: undefined,\n\
                  list: [1, undefined, 'x'],\n\
                  date: new Date(0),\n\
                  fn: function () {},\n\
                  nan: NaN,\n\
                  nested: { deep: [{ ok: true }] },\n\
                });";
    assert_eq!(
        run(&app, 1, code, json!({})).await,
        json!({
            "missing": null,
            "list": [1, null, "x"],
            "date": "1970-01-01T00:00:00.000Z",
            "nan": null,
            "nested": {"deep": [{"ok": true}]},
        })
    );
    // `undefined` alone is null, which a webhook answers with no content.
    let nothing = script(&app, 2, "module.exports = () => {};", false).await;
    assert_no_content(&post(&app, &nothing.url(), json!({})).await);
    assert_eq!(
        run(&app, 3, "module.exports = async () => 'text';", json!({})).await,
        json!("text")
    );
});

both!(
    the_script_gets_a_copy_of_the_chain_and_feeds_the_next_op,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .method("POST")
            .op(
                "run",
                "exec",
                json!({"code": "module.exports = (data) => {\n\
                        data.$trigger.body.word = 'changed';\n\
                        return { keys: Object.keys(data).sort(), last: data.$last.body.word };\n\
                      };"}),
            )
            .then(
                "after",
                "transform",
                json!({"json": {"word": "{{ $trigger.body.word }}", "keys": "{{ run.keys }}"}}),
            )
            .insert(&app)
            .await;
        assert_json(
            &post(&app, &flow.url(), json!({"word": "kept"})).await,
            200,
            json!({"word": "kept", "keys": ["$accountability", "$env", "$last", "$trigger"]}),
        );
    }
);

both!(templating_applies_to_the_code, |app| async move {
    let code = "module.exports = () => ({\n\
                  doubled: {{ $trigger.body.n }} * 2,\n\
                  greeting: 'hello {{ $trigger.body.name }}',\n\
                });";
    assert_eq!(
        run(&app, 1, code, json!({"n": 21, "name": "flow"})).await,
        json!({"doubled": 42, "greeting": "hello flow"})
    );
});

// ---------------------------------------------------------------------------------------
// the sandbox

both!(only_the_documented_globals_exist, |app| async move {
    let code = "module.exports = async () => {\n\
                  let imported;\n\
                  try { await import('fs'); imported = 'yes'; } catch (e) { imported = `${e.name}: ${e.message}`; }\n\
                  return {\n\
                    require: typeof require,\n\
                    fetch: typeof fetch,\n\
                    setTimeout: typeof setTimeout,\n\
                    setInterval: typeof setInterval,\n\
                    setImmediate: typeof setImmediate,\n\
                    Buffer: typeof Buffer,\n\
                    XMLHttpRequest: typeof XMLHttpRequest,\n\
                    WebSocket: typeof WebSocket,\n\
                    Deno: typeof Deno,\n\
                    os: typeof os,\n\
                    std: typeof std,\n\
                    imported,\n\
                    global: global === globalThis,\n\
                    module: Object.keys(module),\n\
                    process: Object.keys(process),\n\
                    console: Object.keys(console),\n\
                  };\n\
                };";
    assert_eq!(
        run(&app, 1, code, json!({})).await,
        json!({
            "require": "undefined",
            "fetch": "undefined",
            "setTimeout": "undefined",
            "setInterval": "undefined",
            "setImmediate": "undefined",
            "Buffer": "undefined",
            "XMLHttpRequest": "undefined",
            "WebSocket": "undefined",
            "Deno": "undefined",
            "os": "undefined",
            "std": "undefined",
            "imported": "ReferenceError: could not load module 'fs'",
            "global": true,
            "module": ["exports"],
            "process": ["env"],
            "console": ["log", "info", "warn", "error", "trace", "debug"],
        })
    );
});

both!(console_calls_are_logged_not_returned, |app| async move {
    let code = "module.exports = (data) => {\n\
                  console.log('one string');\n\
                  console.info({ an: 'object' }, 2);\n\
                  console.warn(function named() {});\n\
                  const cycle = {}; cycle.self = cycle;\n\
                  console.error(cycle, 10n);\n\
                  console.trace();\n\
                  console.debug(undefined);\n\
                  return 'logged';\n\
                };";
    assert_eq!(run(&app, 1, code, json!({})).await, json!("logged"));
});

/// `process.env` is the allow-listed environment (`$env`), nothing more.
fn with_env() -> EngineConfig {
    let mut env = Map::new();
    env.insert("ALLOWED".into(), json!("yes"));
    env.insert("REGION".into(), json!("eu"));
    EngineConfig {
        env,
        ..test_engine()
    }
}

both_with!(
    process_env_is_the_allow_list,
    with_env(),
    |app| async move {
        let code = "module.exports = (data) => ({\n\
                  env: process.env,\n\
                  path: typeof process.env.PATH,\n\
                  same: JSON.stringify(process.env) === JSON.stringify(data.$env),\n\
                });";
        assert_eq!(
            run(&app, 1, code, json!({})).await,
            json!({"env": {"ALLOWED": "yes", "REGION": "eu"}, "path": "undefined", "same": true})
        );
    }
);

both!(
    process_env_is_empty_without_an_allow_list,
    |app| async move {
        assert_eq!(
            run(&app, 1, "module.exports = () => process.env;", json!({})).await,
            json!({})
        );
    }
);

// ---------------------------------------------------------------------------------------
// failures

both!(a_syntax_error_rejects, |app| async move {
    let code = "module.exports = function (data) { return {; };";
    let expected = js_error("SyntaxError", "invalid property name");
    assert_eq!(run(&app, 1, code, json!({})).await, expected);
    let strict = script(&app, 2, code, true).await;
    let reply = app
        .send("POST", &strict.url(), Some("{}"), Some(ADMIN_TOKEN))
        .await;
    assert_json(&reply, 500, internal("invalid property name"));
    // Non-admins see the generic answer, as for any error that is not a Directus one.
    assert_json(
        &post(&app, &strict.url(), json!({})).await,
        500,
        internal("An unexpected error occurred."),
    );
});

both!(a_thrown_exception_rejects, |app| async move {
    let cases = [
        (
            "module.exports = () => { throw new TypeError('bad input'); };",
            js_error("TypeError", "bad input"),
        ),
        (
            "throw new Error('while loading');",
            js_error("Error", "while loading"),
        ),
        (
            "module.exports = async () => { await null; throw new RangeError('later'); };",
            js_error("RangeError", "later"),
        ),
        (
            "module.exports = () => Promise.reject(new Error('rejected'));",
            js_error("Error", "rejected"),
        ),
        (
            "module.exports = (data) => data.missing.field;",
            js_error("TypeError", "cannot read property 'field' of undefined"),
        ),
        (
            "module.exports = () => { const deeper = (n) => deeper(n + 1) + 1; return deeper(0); };",
            js_error("RangeError", "Maximum call stack size exceeded"),
        ),
        // A result JSON cannot hold.
        (
            "module.exports = () => 2n ** 64n;",
            js_error("TypeError", "BigInt are forbidden in JSON.stringify"),
        ),
        // Values that are not errors stay as thrown; a string holding JSON is parsed.
        (
            "module.exports = () => { throw { reason: 'object' }; };",
            json!({"reason": "object"}),
        ),
        (
            "module.exports = () => { throw '{\"code\": 7}'; };",
            json!({"code": 7}),
        ),
        (
            "module.exports = () => { throw 'plain text'; };",
            json!("plain text"),
        ),
    ];
    for (i, (code, expected)) in cases.into_iter().enumerate() {
        assert_eq!(
            run(&app, 10 + i as u32, code, json!({})).await,
            expected,
            "{code}"
        );
    }
    let strict = script(
        &app,
        30,
        "module.exports = () => { throw new TypeError('bad input'); };",
        true,
    )
    .await;
    let reply = app
        .send("POST", &strict.url(), Some("{}"), Some(ADMIN_TOKEN))
        .await;
    assert_json(&reply, 500, internal("bad input"));
});

both!(
    a_rejected_script_takes_the_reject_branch,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
        .method("POST")
        .op(
            "run",
            "exec",
            json!({"code": "module.exports = () => { throw new TypeError('bad input'); };"}),
        )
        .then("ok", "transform", json!({"json": {"branch": "resolve"}}))
        .op(
            "caught",
            "transform",
            json!({"json": {"branch": "reject", "name": "{{ $last.name }}", "message": "{{ run.message }}"}}),
        )
        .reject("run", "caught")
        .insert(&app)
        .await;
        assert_json(
            &post(&app, &flow.url(), json!({})).await,
            200,
            json!({"branch": "reject", "name": "TypeError", "message": "bad input"}),
        );
    }
);

both!(module_exports_must_be_a_function, |app| async move {
    let expected = js_error("TypeError", "module.exports is not a function");
    for (i, code) in [
        "",
        "const handler = () => 1;",
        "module.exports = 42;",
        "module.exports = { run() { return 1; } };",
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            run(&app, 1 + i as u32, code, json!({})).await,
            expected,
            "{code:?}"
        );
    }
});

// ---------------------------------------------------------------------------------------
// limits

both_with!(
    a_runaway_script_times_out,
    tight(300, 32 << 20),
    |app| async move {
        let expected = js_error("Error", TIMED_OUT);
        for (i, code) in [
            // In the exported function, in the script itself, and where a catch would swallow
            // an ordinary error.
            "module.exports = () => { while (true) {} };",
            "while (true) {}",
            "module.exports = () => { try { while (true) {} } catch (e) { return 'caught'; } };",
            // After an await, in a promise job.
            "module.exports = async () => { await null; for (;;) {} };",
        ]
        .into_iter()
        .enumerate()
        {
            let started = Instant::now();
            assert_eq!(
                run(&app, 1 + i as u32, code, json!({})).await,
                expected,
                "{code}"
            );
            let took = started.elapsed();
            assert!(
                took >= Duration::from_millis(300) && took < Duration::from_secs(5),
                "{code}: {took:?}"
            );
        }
        // The two phases have a timeout each: 200 ms of loading and 200 ms of running pass.
        let code = "const until = (ms) => { const end = Date.now() + ms; while (Date.now() < end) {} };\n\
                until(200);\n\
                module.exports = () => { until(200); return 'in time'; };";
        assert_eq!(run(&app, 10, code, json!({})).await, json!("in time"));
        // A promise nothing can settle fails at once instead of waiting for the deadline.
        let started = Instant::now();
        assert_eq!(
            run(
                &app,
                11,
                "module.exports = () => new Promise(() => {});",
                json!({})
            )
            .await,
            expected
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        let strict = script(&app, 12, "while (true) {}", true).await;
        let reply = app
            .send("POST", &strict.url(), Some("{}"), Some(ADMIN_TOKEN))
            .await;
        assert_json(&reply, 500, internal(TIMED_OUT));
    }
);

both_with!(
    the_server_answers_while_scripts_run,
    tight(1500, 32 << 20),
    |app| async move {
        // Two runaway scripts, as many as the test runtime has workers: the ping is answered
        // while both still run, because scripts run on blocking threads.
        let flow = script(
            &app,
            1,
            "module.exports = () => { while (true) {} };",
            false,
        )
        .await;
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let router = app.router.clone();
                let url = flow.url();
                tokio::spawn(async move {
                    use tower::ServiceExt;
                    let req = axum::http::Request::post(url)
                        .header("content-type", "application/json")
                        .body(axum::body::Body::from("{}"))
                        .expect("request");
                    let res = router.oneshot(req).await.expect("response");
                    let status = res.status();
                    let bytes = http_body_util::BodyExt::collect(res.into_body())
                        .await
                        .expect("body")
                        .to_bytes();
                    (
                        status.as_u16(),
                        serde_json::from_slice::<Value>(&bytes).expect("json"),
                    )
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        let pong = get(&app, "/server/ping").await;
        assert_eq!((pong.status.as_u16(), pong.text.as_str()), (200, "pong"));
        assert!(started.elapsed() < Duration::from_millis(500));
        assert!(
            runs.iter().all(|r| !r.is_finished()),
            "the scripts ended early"
        );
        for run in runs {
            assert_eq!(run.await.expect("run"), (200, js_error("Error", TIMED_OUT)));
        }
    }
);

both_with!(
    a_script_beyond_the_memory_limit_rejects,
    tight(10_000, 4 << 20),
    |app| async move {
        let expected = js_error("Error", OUT_OF_MEMORY);
        for (i, code) in [
            "module.exports = () => { const all = []; while (true) all.push(new Array(1000).fill(1)); };",
            "const big = 'x'.repeat(64 * 1024 * 1024);\nmodule.exports = () => big.length;",
            "module.exports = () => new ArrayBuffer(16 * 1024 * 1024).byteLength;",
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(
                run(&app, 1 + i as u32, code, json!({})).await,
                expected,
                "{code}"
            );
        }
        // A script within the limit runs as usual.
        let code = "module.exports = () => new Array(10000).fill(1).length;";
        assert_eq!(run(&app, 10, code, json!({})).await, json!(10000));
    }
);
