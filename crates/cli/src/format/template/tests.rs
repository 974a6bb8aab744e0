//! Template engine cases, each checked against what Go's text/template (with
//! docker's functions) prints for the same template and data.

use super::super::value::{Struct, Value};
use super::{Template, TemplateError};

fn data() -> Value {
    Struct::new("formatter.ContainerContext")
        .field("ID", "0123456789ab")
        .field("Image", "busybox:latest")
        .field("Names", vec!["web", "db"])
        .field("Count", 3i64)
        .field("Size", 0i64)
        .field("Ratio", 0.5)
        .field("Running", true)
        .field("Empty", "")
        .field("Labels", Value::map([("com.example.app", "shop"), ("tier", "web")]))
        .field("Label", Value::map([("com.example.app", "shop"), ("tier", "web")]))
        .field(
            "State",
            Struct::new("types.ContainerState")
                .field("Status", "running")
                .field("Pid", 42i64)
                .field("Health", Value::Null),
        )
        .field("Ports", Vec::<Value>::new())
        .field(
            "Mounts",
            vec![
                Value::from(Struct::new("Mount").field("Source", "/a").field("RW", true)),
                Value::from(Struct::new("Mount").field("Source", "/b").field("RW", false)),
            ],
        )
        .into()
}

fn render(tmpl: &str) -> String {
    let t = Template::parse(tmpl).unwrap_or_else(|e| panic!("{tmpl:?}: {e}"));
    t.render(&data()).unwrap_or_else(|e| panic!("{tmpl:?}: {e}"))
}

fn exec_error(tmpl: &str) -> String {
    let t = Template::parse(tmpl).unwrap_or_else(|e| panic!("{tmpl:?}: {e}"));
    t.render(&data()).expect_err(tmpl).to_string()
}

fn parse_error(tmpl: &str) -> String {
    Template::parse(tmpl).expect_err(tmpl).to_string()
}

#[test]
fn fields_and_text() {
    let cases = [
        ("{{.ID}}", "0123456789ab"),
        ("id={{.ID}} image={{.Image}}", "id=0123456789ab image=busybox:latest"),
        ("{{.State.Status}}/{{.State.Pid}}", "running/42"),
        ("{{.Names}}", "[web db]"),
        ("{{.Labels}}", "map[com.example.app:shop tier:web]"),
        ("{{.State}}", "{running 42 <nil>}"),
        ("{{.Labels.tier}}", "web"),
        ("{{.Labels.nope}}", "<no value>"),
        ("{{.Ratio}} {{.Running}} {{.Count}}", "0.5 true 3"),
        ("{{.}}", ""),
        ("{{.id}}", "0123456789ab"),
        ("a\\tb", "a\\tb"),
        ("{{`raw\\t`}}", "raw\\t"),
        ("{{\"q\\tq\"}}", "q\tq"),
        ("{{/* comment */}}x", "x"),
        ("  {{- .ID -}}  \n", "0123456789ab"),
        ("{{3}} {{-1}} {{1.5}} {{0x10}} {{'a'}} {{true}}", "3 -1 1.5 16 97 true"),
        ("{{(.State).Status}}", "running"),
    ];
    for (tmpl, want) in cases {
        if tmpl == "{{.}}" {
            assert!(render(tmpl).starts_with("{0123456789ab busybox:latest [web db] 3 0 0.5 true  map["), "{tmpl}");
            continue;
        }
        assert_eq!(render(tmpl), want, "{tmpl}");
    }
}

#[test]
fn docker_functions() {
    let cases = [
        ("{{json .}}", ""),
        ("{{json .Names}}", r#"["web","db"]"#),
        ("{{json .State}}", r#"{"Status":"running","Pid":42,"Health":null}"#),
        ("{{json .Labels}}", r#"{"com.example.app":"shop","tier":"web"}"#),
        ("{{json .Empty}}", r#""""#),
        ("{{join .Names \",\"}}", "web,db"),
        ("{{join .Labels \"|\"}}", "shop|web"),
        ("{{upper .Image}} {{lower \"ABC\"}} {{title \"hello big-world_x\"}}", "BUSYBOX:LATEST abc Hello Big-World_x"),
        ("{{split .Image \":\"}}", "[busybox latest]"),
        ("{{index (split .Image \":\") 1}}", "latest"),
        ("{{truncate .ID 4}}|{{truncate \"ab\" 5}}", "0123|ab"),
        ("[{{pad .Image 1 2}}][{{pad .Empty 1 2}}]", "[ busybox:latest  ][]"),
        ("{{index .Labels \"com.example.app\"}}|{{index .Labels \"nope\"}}|", "shop||"),
        ("{{index .Names 1}}", "db"),
        ("{{len .Names}} {{len .Labels}} {{len .Image}}", "2 2 14"),
        ("{{printf \"%s:%d:%v\" .Image .Count .Running}}", "busybox:latest:3:true"),
        ("{{printf \"%-6s|\" \"ab\"}}", "ab    |"),
        ("{{.Image | printf \"%s!\"}}", "busybox:latest!"),
        ("{{.Image | upper | printf \"<%s>\"}}", "<BUSYBOX:LATEST>"),
        ("{{print \"a\" 1 2 \"b\"}}", "a1 2b"),
        ("{{println .Count \"x\"}}", "3 x\n"),
        ("{{.Label \"tier\"}}|{{.Label \"none\"}}|", "web||"),
        ("{{slice .Image 0 7}}", "busybox"),
    ];
    for (tmpl, want) in cases {
        if tmpl == "{{json .}}" {
            assert!(render(tmpl).starts_with(r#"{"ID":"0123456789ab","Image":"busybox:latest","Names":["web","db"]"#));
            continue;
        }
        assert_eq!(render(tmpl), want, "{tmpl}");
    }
}

#[test]
fn control_structures() {
    let cases = [
        ("{{if .Running}}up{{else}}down{{end}}", "up"),
        ("{{if .Empty}}x{{else if .Count}}count{{else}}none{{end}}", "count"),
        ("{{if not .Running}}a{{else if eq .Count 2}}b{{else}}c{{end}}", "c"),
        ("{{if and .Running .Count}}yes{{end}}", "yes"),
        ("{{and .Running .Empty .Count}}|{{or .Empty .Size .Image}}", "|busybox:latest"),
        ("{{if eq .State.Status \"exited\" \"running\"}}match{{end}}", "match"),
        ("{{if ne .Count 3}}x{{else}}three{{end}}", "three"),
        ("{{if lt .Count 4}}lt{{end}}{{if ge .Ratio 0.5}}ge{{end}}{{if gt \"b\" \"a\"}}gt{{end}}", "ltgegt"),
        ("{{range .Names}}[{{.}}]{{end}}", "[web][db]"),
        ("{{range $i, $n := .Names}}{{$i}}={{$n}} {{end}}", "0=web 1=db "),
        ("{{range $k, $v := .Labels}}{{$k}}:{{$v}};{{end}}", "com.example.app:shop;tier:web;"),
        ("{{range .Ports}}p{{else}}no ports{{end}}", "no ports"),
        ("{{range .Mounts}}{{.Source}}{{if .RW}}(rw){{end}} {{end}}", "/a(rw) /b "),
        ("{{range .Names}}{{if eq . \"db\"}}{{break}}{{end}}{{.}}{{end}}", "web"),
        ("{{range .Names}}{{if eq . \"web\"}}{{continue}}{{end}}{{.}}{{end}}", "db"),
        ("{{range 3}}{{.}}{{end}}", "012"),
        ("{{with .State}}{{.Status}}{{end}}", "running"),
        ("{{with .Empty}}x{{else}}empty{{end}}", "empty"),
        ("{{with .Empty}}x{{else with .Image}}{{.}}{{end}}", "busybox:latest"),
        ("{{$x := .Image}}{{$x}}", "busybox:latest"),
        ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"),
        ("{{range .Names}}{{$.ID}} {{end}}", "0123456789ab 0123456789ab "),
        ("{{- range .Names }}\n  {{ . }}\n{{- end }}", "\n  web\n  db"),
    ];
    for (tmpl, want) in cases {
        assert_eq!(render(tmpl), want, "{tmpl}");
    }
}

#[test]
fn execution_errors_like_go() {
    assert_eq!(
        exec_error("{{.Nope}}"),
        "template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope in type formatter.ContainerContext"
    );
    assert_eq!(
        exec_error("x\n{{.State.Nope}}"),
        "template: :2:8: executing \"\" at <.State.Nope>: can't evaluate field Nope in type types.ContainerState"
    );
    assert_eq!(
        exec_error("{{.State.Health.X}}"),
        "template: :1:8: executing \"\" at <.State.Health.X>: nil pointer evaluating interface {}.X"
    );
    assert_eq!(
        exec_error("{{index .Names 5}}"),
        "template: :1:2: executing \"\" at <index .Names 5>: error calling index: index out of range: 5"
    );
    assert_eq!(
        exec_error("{{join .Image \",\"}}"),
        "template: :1:2: executing \"\" at <join .Image \",\">: error calling join: expected slice, got string"
    );
    assert_eq!(
        exec_error("{{upper .Count}}"),
        "template: :1:8: executing \"\" at <.Count>: wrong type for value; expected string; got int"
    );
    assert_eq!(
        exec_error("{{join .Names}}"),
        "template: :1:2: executing \"\" at <join>: wrong number of args for join: want 2 got 1"
    );
    assert_eq!(
        exec_error("{{range .Image}}{{end}}"),
        "template: :1:8: executing \"\" at <.Image>: range can't iterate over busybox:latest"
    );
    assert!(exec_error("{{.ID 1}}").contains("ID has arguments but cannot be invoked as function"));
    assert!(exec_error("{{.Labels.tier 1}}").contains("tier is not a method but has arguments"));
    assert!(exec_error("{{eq .Names .Names}}").contains("non-comparable type"));
    assert!(exec_error("{{eq .Names 1}}").ends_with("error calling eq: incompatible types for comparison"));
    assert!(exec_error("{{lt .Count \"a\"}}").contains("incompatible types for comparison"));
    // Output before the error is kept by execute().
    let t = Template::parse("a{{.Nope}}b").expect("parses");
    let mut out = String::new();
    assert!(t.execute(&data(), &mut out).is_err());
    assert_eq!(out, "a");
}

#[test]
fn parse_errors_like_go() {
    let cases = [
        ("{{.ID", "template: :1: unclosed action"),
        ("{{if .ID}}x", "template: :1: unexpected EOF"),
        ("{{end}}", "template: :1: unexpected {{end}}"),
        ("{{else}}", "template: :1: unexpected {{else}}"),
        ("{{nope .ID}}", "template: :1: function \"nope\" not defined"),
        ("{{}}", "template: :1: missing value for command"),
        ("{{$x}}", "template: :1: undefined variable \"$x\""),
        ("a\n{{\"abc}}", "template: :2: unterminated quoted string"),
        ("{{break}}", "template: :1: {{break}} outside {{range}}"),
        ("{{if}}{{end}}", "template: :1: missing value for if"),
        ("{{.ID | 3}}", "template: :1: non executable command in pipeline stage 2"),
        ("{{template \"x\"}}", "template: :1: {{define}}, {{template}} and {{block}} are not supported"),
    ];
    for (tmpl, want) in cases {
        assert_eq!(parse_error(tmpl), want, "{tmpl}");
    }
    let named = Template::parse_named("version", "{{.Server.Nope").expect_err("unclosed");
    assert_eq!(named.to_string(), "template: version:1: unclosed action");
    assert!(matches!(named, TemplateError::Parse { .. }));
}

#[test]
fn header_mode_passes_names_through() {
    let header = Value::map([("ID", "CONTAINER ID"), ("Image", "IMAGE"), ("Names", "NAMES")]);
    let t = Template::parse("{{.ID}}\t{{upper .Image}}\t{{join .Names \",\"}}\t{{json .ID}}").expect("parses");
    let mut out = String::new();
    t.execute_header(&header, &mut out).expect("header");
    assert_eq!(out, "CONTAINER ID\tIMAGE\tNAMES\tCONTAINER ID");
    // Fields without a header name render as Go prints a missing map key.
    let t = Template::parse("{{.ID}} {{.Other}}").expect("parses");
    let mut out = String::new();
    t.execute_header(&header, &mut out).expect("header");
    assert_eq!(out, "CONTAINER ID <no value>");
    // A label column is titled with the key's last part, as docker titles it.
    let t = Template::parse("{{.ID}}\t{{.Label \"com.example.some_key-x\"}}\t{{.Label \"tier\"}}").expect("parses");
    let mut out = String::new();
    t.execute_header(&header, &mut out).expect("header");
    assert_eq!(out, "CONTAINER ID\tsome key x\ttier");
}

#[test]
fn odd_templates_fail_cleanly() {
    let odd = [
        "{{",
        "}}",
        "{{-",
        "{{- -}}",
        "{{/*",
        "{{/* */",
        "{{(",
        "{{)}}",
        "{{.A.}}",
        "{{$}}",
        "{{$.ID}}",
        "{{1.2.3}}",
        "{{'}}",
        "{{'ab'}}",
        "{{\"\\x\"}}",
        "{{\"\\q\"}}",
        "{{range}}",
        "{{else if}}",
        "{{if 1}}{{else}}{{else}}{{end}}",
        "{{with $x, $y := 1}}{{end}}",
        "{{range $a, $b, $c := .Names}}{{end}}",
        "é{{é}}",
        "{{.Ąb}}",
        "{{printf}}",
        "{{index}}",
        "{{slice \"abc\" 2 1}}",
        "{{slice \"é\" 0 1}}",
        "{{len 3}}",
        "{{3 | printf}}",
        "{{.ID | .Image}}",
        "{{(1).X}}",
        "{{nil}}",
        "{{. 1}}",
        "{{$x := 1}}{{$x 2}}",
        "{{range .Names}}{{break 1}}{{end}}",
        "{{index .Names -1}}",
        "{{index .Labels 1}}",
        "{{index .ID 99}}",
        "{{truncate .ID -1}}",
        "{{pad .ID -1 -1}}",
        "{{printf \"%*d\" -5 1}}",
        "{{eq}}",
        "{{lt 1}}",
        "{{json}}",
        "{{and}}",
        "{{0x}}",
        "{{1e}}",
        "{{'\\u12'}}",
        "{{end}}{{end}}",
        "\u{0}{{.ID}}",
        "{{range .Labels}}{{continue}}{{end}}x",
        "{{with .State}}{{$.ID}}{{end}}",
        "{{`unterminated}}",
    ];
    for tmpl in odd {
        if let Ok(t) = Template::parse(tmpl) {
            let _ = t.render(&data());
            let mut out = String::new();
            let _ = t.execute_header(&Value::map([("ID", "CONTAINER ID")]), &mut out);
        }
    }
}
