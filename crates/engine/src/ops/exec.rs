//! `exec` (Run Script): the flow's JavaScript in a fresh, limited QuickJS runtime
//! (operations-catalog.md §2).
//!
//! Directus runs the script in an isolated-vm V8 isolate; flowline embeds QuickJS through
//! `rquickjs`. What a script can see and do is the same: `global`, `module = {exports: null}`,
//! `process = {env}` with the allow-listed environment, and `console.*` going to the server
//! log, beside the language's own built-ins. There is no `require`, `import`, `fetch`, timer,
//! file or network access, because QuickJS has none of them unless a host adds them.
//!
//! Failures reject with `{name, message}` of the JavaScript error, the shape the
//! `json-web-token` operation gives its library errors. Directus keeps the Error instance in
//! the chain, which serialises to `{}` (its properties are not enumerable) while templates can
//! still read `{{ $last.message }}`; carrying them as plain properties keeps such templates
//! working, and shows a webhook's caller what went wrong instead of an empty object.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use rquickjs::context::EvalOptions;
use rquickjs::function::Rest;
use rquickjs::promise::PromiseState;
use rquickjs::{Context, Ctx, FromJs, Function, Object, Runtime};
use serde_json::{Value, json};

use super::{OpContext, Operation, option_to_string};
use crate::ScriptLimits;
use crate::error::Rejection;

/// isolated-vm's message when a script runs past `FLOWS_RUN_SCRIPT_TIMEOUT`.
const TIMED_OUT: &str = "Script execution timed out.";
/// isolated-vm's message when a script needs more than `FLOWS_RUN_SCRIPT_MAX_MEMORY`.
const OUT_OF_MEMORY: &str = "Isolate was disposed during execution due to memory limit";
/// V8's message when the script left `module.exports` unset (Directus calls it regardless).
const NOT_A_FUNCTION: &str = "module.exports is not a function";
/// The name stack traces and syntax errors give the script, as Directus names it.
const FILENAME: &str = "user-script.js";

pub struct Exec;

/// The `exec` operation's options: the script, `None` when absent (run as `undefined`).
#[derive(Debug, Default, PartialEq, serde::Deserialize)]
struct ExecOptions {
    #[serde(default, deserialize_with = "crate::options::present")]
    code: Option<Value>,
}

impl Operation for Exec {
    fn id(&self) -> &'static str {
        "exec"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move {
            let config = ctx.engine.config();
            let job = Job {
                code: option_to_string(crate::options::parse::<ExecOptions>(options).code.as_ref()),
                data: ctx.data.to_string(),
                env: Value::Object(config.env.clone()).to_string(),
                limits: config.script.clone(),
                flow: ctx.flow.id.clone(),
            };
            // QuickJS runs synchronously until the script returns, so it gets a thread of its
            // own: a slow script then never holds up the requests sharing the async workers.
            tokio::task::spawn_blocking(move || job.run())
                .await
                .unwrap_or_else(|e| {
                    tracing::error!(target: "flowline::flows", error = %e, "script runner failed");
                    Err(js_error("Error", "The script runner failed.".to_string()))
                })
        })
    }
}

/// One run of a script, owned so that it can move to the blocking thread.
struct Job {
    code: String,
    /// The data chain as JSON: the script gets a copy, never the chain itself.
    data: String,
    /// `process.env` as JSON.
    env: String,
    limits: ScriptLimits,
    flow: String,
}

/// The timeout as the run enforces it: the current phase's deadline, shared with the
/// interrupt handler, and whether that handler has stopped the script.
struct Limits {
    timeout: Duration,
    /// Read by the interrupt handler; moved forward when the second phase starts.
    deadline: Rc<Cell<Instant>>,
    /// Set by the interrupt handler when it stopped the script.
    timed_out: Rc<Cell<bool>>,
}

impl Limits {
    /// Starts a phase: evaluating the script, or calling and awaiting its function, each get
    /// the whole timeout (`FLOWS_RUN_SCRIPT_TIMEOUT` applies to them separately).
    fn start(&self) {
        self.deadline.set(Instant::now() + self.timeout);
    }

    fn expired(&self) -> bool {
        self.timed_out.get() || Instant::now() >= self.deadline.get()
    }
}

impl Job {
    fn run(self) -> Result<Value, Rejection> {
        let runtime = Runtime::new().map_err(|_| out_of_memory())?;
        runtime.set_memory_limit(self.limits.max_memory);
        let limits = Limits {
            timeout: self.limits.timeout,
            deadline: Rc::new(Cell::new(Instant::now() + self.limits.timeout)),
            timed_out: Rc::new(Cell::new(false)),
        };
        // QuickJS calls this every few thousand instructions, so even `while (true) {}`
        // stops; the error it raises cannot be caught by the script.
        let (deadline, timed_out) = (limits.deadline.clone(), limits.timed_out.clone());
        runtime.set_interrupt_handler(Some(Box::new(move || {
            let stop = Instant::now() >= deadline.get();
            if stop {
                timed_out.set(true);
            }
            stop
        })));
        let context = Context::full(&runtime).map_err(|_| out_of_memory())?;
        context.with(|ctx| self.run_in(&ctx, &limits))
    }

    fn run_in<'js>(&self, ctx: &Ctx<'js>, limits: &Limits) -> Result<Value, Rejection> {
        let fail = |err: rquickjs::Error| rejection(ctx, err, limits);
        let module = self.install_globals(ctx).map_err(fail)?;

        limits.start();
        let mut options = EvalOptions::default();
        // A plain script, as `context.eval` runs it in Directus: sloppy mode, not a module.
        options.strict = false;
        options.filename = Some(FILENAME.to_string());
        ctx.eval_with_options::<(), _>(self.code.as_str(), options)
            .map_err(fail)?;

        limits.start();
        let exports: rquickjs::Value = module.get("exports").map_err(fail)?;
        let Some(function) = exports.as_function() else {
            return Err(js_error("TypeError", NOT_A_FUNCTION.to_string()));
        };
        let input = ctx.json_parse(self.data.as_str()).map_err(fail)?;
        let returned: rquickjs::Value = function.call((input,)).map_err(fail)?;
        let value = settle(ctx, returned, limits)?;
        to_json(ctx, value, limits)
    }

    /// `global`, `module`, `process` and `console`; answers `module`, whose `exports` the
    /// script is expected to set.
    fn install_globals<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
        let globals = ctx.globals();
        globals.set("global", globals.clone())?;
        let module = Object::new(ctx.clone())?;
        module.set("exports", rquickjs::Null)?;
        globals.set("module", module.clone())?;
        let process = Object::new(ctx.clone())?;
        process.set("env", ctx.json_parse(self.env.as_str())?)?;
        globals.set("process", process)?;
        let console = Object::new(ctx.clone())?;
        for (name, level) in [
            ("log", Level::Info),
            ("info", Level::Info),
            ("warn", Level::Warn),
            ("error", Level::Error),
            ("trace", Level::Trace),
            ("debug", Level::Debug),
        ] {
            let flow = self.flow.clone();
            let function = Function::new(
                ctx.clone(),
                move |ctx: Ctx<'js>, args: Rest<rquickjs::Value<'js>>| {
                    level.log(&flow, &console_text(&ctx, args.0));
                },
            )?
            .with_name(name)?;
            console.set(name, function)?;
        }
        globals.set("console", console)?;
        Ok(module)
    }
}

/// Runs promise jobs until the function's promise settles; a value that is not a promise is
/// the result as it is. A promise still pending when no job is left can never settle (the
/// sandbox has no timers or I/O to wake it), so it fails at once as a timeout rather than
/// holding a thread until the deadline.
fn settle<'js>(
    ctx: &Ctx<'js>,
    returned: rquickjs::Value<'js>,
    limits: &Limits,
) -> Result<rquickjs::Value<'js>, Rejection> {
    let Some(promise) = returned.as_promise() else {
        return Ok(returned);
    };
    loop {
        match promise.state() {
            PromiseState::Resolved | PromiseState::Rejected => {
                return match promise.result::<rquickjs::Value>() {
                    Some(Ok(value)) => Ok(value),
                    Some(Err(err)) => Err(rejection(ctx, err, limits)),
                    None => Ok(rquickjs::Value::new_null(ctx.clone())),
                };
            }
            PromiseState::Pending => {}
        }
        if limits.expired() || !ctx.execute_pending_job() {
            return Err(timed_out());
        }
    }
}

/// The returned value as JSON text, with Directus's rules: `undefined` (at the top or as an
/// object's property) becomes `null`; a `Date` its ISO text; functions are left out.
fn stringify<'js>(ctx: &Ctx<'js>, value: rquickjs::Value<'js>) -> rquickjs::Result<String> {
    let replacer = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, _key: rquickjs::Value<'js>, value: rquickjs::Value<'js>| {
            if value.is_undefined() {
                rquickjs::Value::new_null(ctx)
            } else {
                value
            }
        },
    )?;
    match ctx.json_stringify_replacer(value, replacer)? {
        Some(text) => text.to_string(),
        None => Ok("null".to_string()),
    }
}

/// The op's result: the returned value copied out as JSON.
fn to_json<'js>(
    ctx: &Ctx<'js>,
    value: rquickjs::Value<'js>,
    limits: &Limits,
) -> Result<Value, Rejection> {
    let text = stringify(ctx, value).map_err(|err| rejection(ctx, err, limits))?;
    serde_json::from_str(&text).map_err(|e| js_error("Error", e.to_string()))
}

/// A rejection for what stopped the script: the deadline and the memory limit first, with
/// isolated-vm's messages (QuickJS's own say less), then whatever the script threw.
///
/// Unlike a V8 isolate, which is disposed of, QuickJS lets a script catch its out-of-memory
/// error; a script that does so and returns normally resolves.
fn rejection<'js>(ctx: &Ctx<'js>, err: rquickjs::Error, limits: &Limits) -> Rejection {
    let thrown = match err {
        rquickjs::Error::Exception => Some(ctx.catch()),
        _ => None,
    };
    if limits.timed_out.get() {
        return timed_out();
    }
    let Some(thrown) = thrown else {
        return match err {
            rquickjs::Error::Allocation => out_of_memory(),
            other => js_error("Error", other.to_string()),
        };
    };
    // QuickJS throws `InternalError: out of memory`, or `null` when there is not even room
    // for that error, so a script throwing `null` itself reads as out of memory too.
    if thrown.is_null() {
        return out_of_memory();
    }
    if let Some(exception) = thrown.as_exception() {
        let name = exception
            .get::<_, Option<String>>("name")
            .ok()
            .flatten()
            .unwrap_or_else(|| "Error".to_string());
        let message = exception.message().unwrap_or_default();
        if name == "InternalError" && message == "out of memory" {
            return out_of_memory();
        }
        // Reading a getter may have thrown again; nothing of it is wanted.
        let _ = ctx.catch();
        return js_error(&name, message);
    }
    // Anything else thrown keeps its value, as Directus keeps it (flows-and-operations.md
    // §5.1): a string holding JSON is parsed, any other string stays a string.
    if let Some(text) = thrown.as_string().and_then(|s| s.to_string().ok()) {
        let data = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        return Rejection::plain(data, text);
    }
    let data = stringify(ctx, thrown)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| {
            let _ = ctx.catch();
            Value::Null
        });
    let message = data
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("An unexpected error occurred.")
        .to_string();
    Rejection::plain(data, message)
}

/// A JavaScript error as the chain holds it: `{name, message}`.
fn js_error(name: &str, message: String) -> Rejection {
    Rejection::plain(json!({"name": name, "message": message}), message)
}

fn timed_out() -> Rejection {
    js_error("Error", TIMED_OUT.to_string())
}

fn out_of_memory() -> Rejection {
    js_error("Error", OUT_OF_MEMORY.to_string())
}

/// What a `console` call logs: one argument as it is (a string without quotes), several as
/// a JSON array, as Directus hands them to its logger.
fn console_text<'js>(ctx: &Ctx<'js>, mut args: Vec<rquickjs::Value<'js>>) -> String {
    if args.len() == 1 {
        let arg = args.remove(0);
        if let Some(text) = arg.as_string().and_then(|s| s.to_string().ok()) {
            return text;
        }
        return loggable(ctx, arg).to_string();
    }
    Value::Array(args.into_iter().map(|arg| loggable(ctx, arg)).collect()).to_string()
}

/// One logged value as JSON; what JSON cannot hold (a function, a cycle, a BigInt) is logged
/// as its `String(value)` text.
fn loggable<'js>(ctx: &Ctx<'js>, value: rquickjs::Value<'js>) -> Value {
    if let Some(json) = stringify(ctx, value.clone())
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
    {
        return json;
    }
    let _ = ctx.catch();
    let text = rquickjs::Coerced::<String>::from_js(ctx, value)
        .map(|c| c.0)
        .unwrap_or_else(|_| {
            let _ = ctx.catch();
            "[unprintable]".to_string()
        });
    Value::String(text)
}

/// The log level of a `console` method.
#[derive(Clone, Copy)]
enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn log(self, flow: &str, message: &str) {
        match self {
            Level::Trace => tracing::trace!(target: "flowline::flows", flow = %flow, "{message}"),
            Level::Debug => tracing::debug!(target: "flowline::flows", flow = %flow, "{message}"),
            Level::Info => tracing::info!(target: "flowline::flows", flow = %flow, "{message}"),
            Level::Warn => tracing::warn!(target: "flowline::flows", flow = %flow, "{message}"),
            Level::Error => tracing::error!(target: "flowline::flows", flow = %flow, "{message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: &str, max_memory: usize) -> Result<Value, Value> {
        run_with(code, max_memory, "{}")
    }

    fn run_with(code: &str, max_memory: usize, data: &str) -> Result<Value, Value> {
        Job {
            code: code.to_string(),
            data: data.to_string(),
            env: "{}".to_string(),
            limits: ScriptLimits {
                max_memory,
                timeout: Duration::from_millis(500),
            },
            flow: "f".to_string(),
        }
        .run()
        .map_err(|r| r.data)
    }

    /// The error QuickJS raises for the memory limit depends on how much room is left for
    /// the error itself (none: it throws `null`); either way the run rejects the same.
    #[test]
    fn running_out_of_memory_always_reads_the_same() {
        let code = "module.exports = () => { const all = []; while (true) all.push(new Array(1000).fill(1)); };";
        for pad in [0, 10, 100, 300, 1000, 3000] {
            let data = json!({ "pad": "x".repeat(pad) }).to_string();
            assert_eq!(
                run_with(code, 4 << 20, &data),
                Err(json!({"name": "Error", "message": OUT_OF_MEMORY})),
                "{pad}"
            );
        }
    }

    #[test]
    fn a_tiny_memory_limit_rejects_before_the_script_starts() {
        assert_eq!(
            run("module.exports = () => 1;", 1024),
            Err(json!({"name": "Error", "message": OUT_OF_MEMORY}))
        );
    }

    /// What JSON cannot carry rejects instead of reaching the chain half-copied.
    #[test]
    fn results_that_are_not_json_reject() {
        let error = |name: &str, message: &str| Err(json!({"name": name, "message": message}));
        let cases = [
            (
                "module.exports = () => 2n ** 64n;",
                error("TypeError", "BigInt are forbidden in JSON.stringify"),
            ),
            (
                "module.exports = () => { const c = {}; c.c = c; return c; };",
                error("TypeError", "circular reference"),
            ),
            // Deeper than serde_json reads (128 levels).
            (
                "module.exports = () => { let v = 1; for (let i = 0; i < 200; i++) v = [v]; return v; };",
                error("Error", "recursion limit exceeded at line 1 column 128"),
            ),
            (
                "module.exports = () => { let v = 1; for (let i = 0; i < 100000; i++) v = [v]; return v; };",
                error("RangeError", "Maximum call stack size exceeded"),
            ),
        ];
        for (code, expected) in cases {
            assert_eq!(run(code, 32 << 20), expected, "{code}");
        }
    }
}
