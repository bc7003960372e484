//! The deployment files parse, Prometheus's `promtool` accepts the scrape config and the alert
//! rules, and the dashboard and alert rules speak only of metrics the host exports, so that an
//! operator who follows docs/OPERATIONS.md gets panels and alerts that work.

use std::{collections::BTreeSet, fs, path::Path};

use serde_json::Value;

fn deploy(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(name: &str) -> Value {
    serde_yaml_ng::from_str(&deploy(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every `tokobot_*` name in `text`, without the suffixes Prometheus adds to histograms.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("tokobot_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(&name);
        names.insert(base.to_owned());
    }
    names
}

/// The metric names the host's code records (string literals in `src/`).
fn exported() -> BTreeSet<String> {
    fn walk(dir: &Path, names: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, names);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let code = fs::read_to_string(&path).unwrap();
                for piece in code.split('"').skip(1).step_by(2) {
                    if piece.starts_with("tokobot_")
                        && piece
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    {
                        names.insert(piece.to_owned());
                    }
                }
            }
        }
    }
    let mut names = BTreeSet::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut names,
    );
    names
}

#[test]
fn the_compose_file_runs_postgres_and_tokobot_with_health_checks_and_no_secrets() {
    let compose = yaml("compose.yaml");
    let services = compose["services"].as_object().expect("services");
    for name in ["db", "tokobot", "caddy", "prometheus"] {
        assert!(services.contains_key(name), "service {name}");
    }
    for name in ["db", "tokobot"] {
        assert!(
            services[name]["healthcheck"]["test"].is_array(),
            "{name} has a healthcheck"
        );
    }
    assert_eq!(
        services["tokobot"]["depends_on"]["db"]["condition"],
        "service_healthy"
    );
    // Secrets come from the environment file, never from the compose file itself.
    let env = services["tokobot"]["environment"].as_object().unwrap();
    for key in ["TOKOBOT_MASTER_KEY", "TOKOBOT_JWT_SECRET"] {
        assert!(
            env[key].as_str().unwrap().starts_with("${"),
            "{key} comes from the env file"
        );
    }
}

#[test]
fn the_image_runs_as_a_non_root_user_with_the_backup_tools() {
    let dockerfile = deploy("Dockerfile");
    assert!(dockerfile.contains("USER tokobot"));
    assert!(dockerfile.contains("postgresql-client-15"));
    assert!(
        dockerfile.matches("FROM ").count() >= 2,
        "a multi-stage build"
    );
}

#[test]
fn the_proxy_forwards_only_the_webhooks_and_the_api() {
    let caddy = deploy("Caddyfile");
    assert!(caddy.contains("@public path /webhooks/* /api/*"));
    assert!(caddy.contains("respond \"Not Found\" 404"));
    let nginx = deploy("nginx.conf");
    let forwarded: Vec<&str> = nginx
        .lines()
        .filter_map(|l| l.trim().strip_prefix("location "))
        .collect();
    assert_eq!(forwarded, ["/webhooks/ {", "/api/ {", "/ {"]);
}

#[test]
fn the_dashboard_and_the_alerts_use_only_metrics_the_host_exports() {
    let exported = exported();
    let dashboard: Value = serde_json::from_str(&deploy("grafana/tokobot.json")).unwrap();
    let mut used = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            used.extend(metric_names(target["expr"].as_str().unwrap()));
        }
    }
    let alerts = yaml("alerts.yml");
    let rules = alerts["groups"][0]["rules"].as_array().unwrap();
    assert!(!rules.is_empty());
    for rule in rules {
        assert!(
            rule["alert"].is_string() && rule["expr"].is_string(),
            "{rule}"
        );
        used.extend(metric_names(rule["expr"].as_str().unwrap()));
    }
    let prometheus = yaml("prometheus.yml");
    assert_eq!(prometheus["scrape_configs"][0]["job_name"], "tokobot");

    let unknown: Vec<&String> = used.iter().filter(|m| !exported.contains(*m)).collect();
    assert!(unknown.is_empty(), "not exported by the host: {unknown:?}");
    assert!(used.len() >= 10, "{used:?}");
}

/// Prometheus's own linter: `target/tools/promtool` (which `scripts/ensure-promtool` fetches
/// from Debian's package) or `$TOKOBOT_PROMTOOL`. Without it the test fails and says how to get
/// it, so the check is never skipped without notice.
fn promtool() -> std::path::PathBuf {
    let path = std::env::var_os("TOKOBOT_PROMTOOL")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/promtool"));
    assert!(
        path.is_file(),
        "promtool is missing at {}: run scripts/ensure-promtool (scripts/test does)",
        path.display()
    );
    path
}

#[test]
fn promtool_accepts_the_prometheus_config_and_the_alert_rules() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let promtool = promtool();
    for args in [
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "alerts.yml"],
    ] {
        let out = std::process::Command::new(&promtool)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", promtool.display()));
        assert!(
            out.status.success(),
            "promtool {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
