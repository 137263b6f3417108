//! The HTML of a mail: markdown rendered and sanitised as Directus's `md()` does (`marked`
//! then `sanitize-html` with its defaults), Liquid templates from `EMAIL_TEMPLATES_PATH` or
//! the built-in ones, and the per-line trim Directus applies to every HTML body.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};
use serde_json::{Map, Value};

/// Templates shipped with flowline, by name. `base` lays out a body given as `html`, as
/// Directus's `base` template does, so flows written for Directus render there too.
const BUILTIN: &[(&str, &str)] = &[("base", include_str!("base.liquid"))];

/// `sanitize-html`'s default allow-list: block and inline text tags and tables, links with
/// `href`/`name`/`target`, no images, no styles, no classes. `script`, `style`, `textarea`,
/// `option` and `noscript` go with their content; other tags go but keep their text.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let tags: HashSet<&str> = [
        "address",
        "article",
        "aside",
        "footer",
        "header",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hgroup",
        "main",
        "nav",
        "section",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "ul",
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "br",
        "cite",
        "code",
        "data",
        "dfn",
        "em",
        "i",
        "kbd",
        "mark",
        "q",
        "rb",
        "rp",
        "rt",
        "rtc",
        "ruby",
        "s",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "time",
        "u",
        "var",
        "wbr",
        "caption",
        "col",
        "colgroup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
    ]
    .into_iter()
    .collect();
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(tags)
        .clean_content_tags(
            ["script", "style", "textarea", "option", "noscript"]
                .into_iter()
                .collect(),
        )
        .generic_attributes(HashSet::new())
        .tag_attributes(HashMap::from([(
            "a",
            ["href", "name", "target"].into_iter().collect(),
        )]))
        .url_schemes(
            ["http", "https", "ftp", "mailto", "tel"]
                .into_iter()
                .collect(),
        )
        .url_relative(ammonia::UrlRelative::PassThrough)
        .link_rel(None)
        .strip_comments(true);
    builder
});

/// Markdown to sanitised HTML. GitHub-flavoured tables and strikethrough are on, as in
/// `marked`; whatever the allow-list refuses (raw `<script>`, `javascript:` links, event
/// attributes) is removed.
pub(super) fn markdown(source: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(source, options));
    SANITIZER.clean(&out).to_string()
}

/// Directus trims every line of an HTML body ("some email clients start acting funky when
/// line length exceeds 75 characters").
pub(super) fn trim_lines(html: &str) -> String {
    html.split('\n')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Renders the Liquid template `name` with `data` over `defaults` (the project's name and
/// colours). `<name>.liquid` in `custom` wins over a built-in template of that name; `{%
/// include %}` finds partials the same way.
pub(super) fn template(
    name: &str,
    data: &Map<String, Value>,
    defaults: Map<String, Value>,
    custom: Option<&Path>,
) -> Result<String, String> {
    let source = Templates {
        custom: custom.map(Path::to_path_buf),
    };
    let text = source
        .load(name)
        .ok_or_else(|| format!("Template \"{name}\" doesn't exist"))?;
    let parser = liquid::ParserBuilder::with_stdlib()
        .partials(liquid::partials::OnDemandCompiler::new(source))
        .build()
        .map_err(|e| e.to_string())?;
    let mut globals = defaults;
    globals.extend(data.iter().map(|(k, v)| (k.clone(), v.clone())));
    let globals = liquid::to_object(&globals).map_err(|e| e.to_string())?;
    parser
        .parse(&text)
        .and_then(|t| t.render(&globals))
        .map_err(|e| format!("template \"{name}\": {e}"))
}

/// Where templates and partials come from; read on every use, so edits to the folder apply
/// without a restart (as Directus, which does not cache them either).
#[derive(Debug)]
struct Templates {
    custom: Option<PathBuf>,
}

impl Templates {
    fn load(&self, name: &str) -> Option<String> {
        let name = name.strip_suffix(".liquid").unwrap_or(name);
        if let Some(path) = self.custom_path(name)
            && let Ok(text) = std::fs::read_to_string(path)
        {
            return Some(text);
        }
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| (*text).to_string())
    }

    /// `<custom>/<name>.liquid`, for names that stay inside the folder (subfolders allowed;
    /// `..`, absolute paths and drive prefixes refused, as Directus's `isWithinPath`).
    fn custom_path(&self, name: &str) -> Option<PathBuf> {
        let dir = self.custom.as_ref()?;
        let relative = Path::new(name);
        let inside = !name.is_empty()
            && relative
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        inside.then(|| dir.join(format!("{name}.liquid")))
    }
}

impl liquid::partials::PartialSource for Templates {
    fn contains(&self, name: &str) -> bool {
        self.load(name).is_some()
    }

    fn names(&self) -> Vec<&str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    fn try_get<'a>(&'a self, name: &str) -> Option<Cow<'a, str>> {
        self.load(name).map(Cow::Owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn markdown_renders_and_sanitises() {
        let cases = [
            ("# Hi **Ann**", "<h1>Hi <strong>Ann</strong></h1>\n"),
            ("a <script>alert(1)</script> b", "<p>a  b</p>\n"),
            (
                "[x](javascript:alert(1)) [y](https://e.com \"t\")",
                "<p><a>x</a> <a href=\"https://e.com\">y</a></p>\n",
            ),
            (
                "<p onclick=\"x()\" class=\"c\" style=\"color:red\">hi</p>\n\n![img](https://e.com/i.png)",
                "<p>hi</p>\n<p></p>\n",
            ),
            ("~~old~~ `code`", "<p>old <code>code</code></p>\n"),
        ];
        for (md, html) in cases {
            assert_eq!(markdown(md), html, "{md}");
        }
    }

    #[test]
    fn lines_are_trimmed() {
        assert_eq!(trim_lines("  <p>\n\t x \r\n</p>  "), "<p>\nx\n</p>");
    }

    #[test]
    fn custom_templates_win_and_names_stay_inside_the_folder() {
        let dir = std::env::temp_dir().join(format!("flowline-mail-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("dir");
        std::fs::write(dir.join("base.liquid"), "custom {{ html }}").expect("write");
        std::fs::write(dir.join("sub/card.liquid"), "[{% include \"part\" %}]").expect("write");
        std::fs::write(dir.join("part.liquid"), "{{ who }}").expect("write");
        let render = |name: &str, data: Value| template(name, &obj(data), Map::new(), Some(&dir));
        assert_eq!(
            render("base", json!({"html": "<b>x</b>"})),
            Ok("custom <b>x</b>".into())
        );
        assert_eq!(
            render("sub/card", json!({"who": "Ann"})),
            Ok("[Ann]".into())
        );
        assert_eq!(
            render("../etc/passwd", json!({})),
            Err("Template \"../etc/passwd\" doesn't exist".into())
        );
        assert_eq!(
            render("/etc/passwd", json!({})),
            Err("Template \"/etc/passwd\" doesn't exist".into())
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn the_builtin_base_lays_out_html() {
        let defaults = obj(json!({
            "projectName": "Acme", "projectColor": "#171717", "projectLogo": "", "projectUrl": "",
        }));
        let html = template("base", &obj(json!({"html": "<p>Body</p>"})), defaults, None)
            .expect("base renders");
        assert!(html.contains("<p>Body</p>"), "{html}");
        assert!(html.contains("<title>Acme</title>"), "{html}");
        assert!(!html.contains("<img"), "no logo without one: {html}");
    }
}
