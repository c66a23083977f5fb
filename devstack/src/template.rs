//! Reads `template.yaml` so the offline stack is provisioned and served from
//! the same settings that get deployed: the two cannot drift.
//!
//! The YAML is turned into JSON once, resolving what can be resolved offline
//! (`!Ref` to a parameter → its default, `!Sub` over parameters and pseudo
//! parameters). Anything else (`!GetAtt`, `!If`, a `!Ref` to a resource) stays
//! as a `{"Fn::…": …}` object, which the typed settings below simply do not
//! read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// Region and account the offline stack pretends to live in.
pub const PSEUDO_ACCOUNT_ID: &str = "123456789012";

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("template has no resource of type {0}")]
    MissingResource(&'static str),
    #[error("resource {resource} has unexpected properties: {source}")]
    Shape {
        resource: String,
        source: serde_json::Error,
    },
    #[error("template setting {0} is missing or not resolvable offline")]
    Missing(String),
}

/// The template, with parameters resolved to their defaults.
#[derive(Debug, Clone)]
pub struct Template {
    resources: Map<String, Value>,
    globals: Value,
}

/// The path of `template.yaml` at the workspace root.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("template.yaml")
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, "us-east-1")
    }

    /// Parses a template; `region` stands in for `AWS::Region`.
    pub fn parse(text: &str, region: &str) -> Result<Self, TemplateError> {
        let yaml: serde_norway::Value = serde_norway::from_str(text)?;
        let raw = to_json(&yaml);
        let mut params = BTreeMap::new();
        if let Some(Value::Object(ps)) = raw.get("Parameters") {
            for (name, p) in ps {
                if let Some(d) = p.get("Default") {
                    params.insert(name.clone(), d.clone());
                }
            }
        }
        params.insert("AWS::Region".into(), json!(region));
        params.insert("AWS::AccountId".into(), json!(PSEUDO_ACCOUNT_ID));
        params.insert("AWS::Partition".into(), json!("aws"));
        params.insert("AWS::URLSuffix".into(), json!("amazonaws.com"));
        params.insert("AWS::StackName".into(), json!("devstack"));
        let resolve = |v: &Value| resolve(v, &params);
        let resources = match raw.get("Resources") {
            Some(Value::Object(r)) => r.iter().map(|(k, v)| (k.clone(), resolve(v))).collect(),
            _ => Map::new(),
        };
        let globals = raw.get("Globals").map(resolve).unwrap_or(Value::Null);
        Ok(Self { resources, globals })
    }

    fn resources_of_type<'a>(
        &'a self,
        ty: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.resources
            .iter()
            .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
    }

    fn single<T: DeserializeOwned>(&self, ty: &'static str) -> Result<T, TemplateError> {
        let (name, r) = self
            .resources_of_type(ty)
            .next()
            .ok_or(TemplateError::MissingResource(ty))?;
        let props = r.get("Properties").cloned().unwrap_or_else(|| json!({}));
        serde_json::from_value(props).map_err(|source| TemplateError::Shape {
            resource: name.clone(),
            source,
        })
    }

    pub fn user_pool(&self) -> Result<UserPoolSettings, TemplateError> {
        self.single("AWS::Cognito::UserPool")
    }

    pub fn app_client(&self) -> Result<AppClientSettings, TemplateError> {
        self.single("AWS::Cognito::UserPoolClient")
    }

    pub fn identity_pool(&self) -> Result<IdentityPoolSettings, TemplateError> {
        self.single("AWS::Cognito::IdentityPool")
    }

    pub fn table(&self) -> Result<TableSettings, TemplateError> {
        self.single("AWS::DynamoDB::Table")
    }

    pub fn groups(&self) -> Result<Vec<GroupSettings>, TemplateError> {
        self.resources_of_type("AWS::Cognito::UserPoolGroup")
            .map(|(name, r)| {
                serde_json::from_value(r.get("Properties").cloned().unwrap_or(Value::Null)).map_err(
                    |source| TemplateError::Shape {
                        resource: name.clone(),
                        source,
                    },
                )
            })
            .collect()
    }

    /// The `Environment.Variables` of the function built from cargo binary
    /// `binary`, with `Globals.Function` variables underneath. Only values
    /// resolvable offline (strings, numbers) are returned.
    pub fn function_env(&self, binary: &str) -> Result<BTreeMap<String, String>, TemplateError> {
        let (_, f) = self.function(binary)?;
        let mut env = BTreeMap::new();
        let layers = [
            self.globals.pointer("/Function/Environment/Variables"),
            f.pointer("/Properties/Environment/Variables"),
        ];
        for vars in layers.into_iter().flatten() {
            if let Value::Object(vars) = vars {
                for (k, v) in vars {
                    match v {
                        Value::String(s) => {
                            env.insert(k.clone(), s.clone());
                        }
                        Value::Number(n) => {
                            env.insert(k.clone(), n.to_string());
                        }
                        Value::Bool(b) => {
                            env.insert(k.clone(), b.to_string());
                        }
                        _ => {
                            env.remove(k);
                        }
                    }
                }
            }
        }
        Ok(env)
    }

    /// Names of the environment variables the function declares (resolvable
    /// or not): what `sam local invoke --env-vars` may override.
    pub fn function_env_names(&self, binary: &str) -> Result<Vec<String>, TemplateError> {
        let (_, f) = self.function(binary)?;
        // Sorted, so the answer does not depend on the JSON map's ordering.
        let mut names: Vec<String> = f
            .pointer("/Properties/Environment/Variables")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        names.sort_unstable();
        Ok(names)
    }

    fn function(&self, binary: &str) -> Result<(&String, &Value), TemplateError> {
        self.resources_of_type("AWS::Serverless::Function")
            .find(|(_, f)| {
                f.pointer("/Metadata/BuildProperties/Binary")
                    .and_then(Value::as_str)
                    == Some(binary)
            })
            .ok_or_else(|| {
                TemplateError::Missing(format!(
                    "function with Metadata.BuildProperties.Binary = {binary}"
                ))
            })
    }

    /// The REST API: stage, authorizer settings, gateway responses, and the
    /// routes declared as `Type: Api` events of the functions.
    pub fn api(&self) -> Result<ApiSettings, TemplateError> {
        let (api_name, api) = self
            .resources_of_type("AWS::Serverless::Api")
            .next()
            .ok_or(TemplateError::MissingResource("AWS::Serverless::Api"))?;
        let props = api.get("Properties").cloned().unwrap_or_else(|| json!({}));
        let stage = props
            .get("StageName")
            .and_then(Value::as_str)
            .ok_or_else(|| TemplateError::Missing(format!("{api_name}.StageName")))?
            .to_owned();
        let default_authorizer = props
            .pointer("/Auth/DefaultAuthorizer")
            .and_then(Value::as_str);
        let authorizer =
            default_authorizer.and_then(|n| props.pointer(&format!("/Auth/Authorizers/{n}")));
        let reauthorize_every = authorizer
            .and_then(|a| a.pointer("/Identity/ReauthorizeEvery"))
            .and_then(as_u64)
            .unwrap_or(300);
        let identity_headers = authorizer
            .and_then(|a| a.pointer("/Identity/Headers"))
            .and_then(Value::as_array)
            .map(|hs| {
                hs.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_else(|| vec!["Authorization".to_owned()]);
        let mut gateway_responses = BTreeMap::new();
        if let Some(Value::Object(grs)) = props.get("GatewayResponses") {
            for (kind, gr) in grs {
                gateway_responses.insert(kind.clone(), GatewayResponse::from_template(gr));
            }
        }
        let cors = cors_headers(props.get("Cors"));
        let mut routes = Vec::new();
        for (_, f) in self.resources_of_type("AWS::Serverless::Function") {
            let Some(binary) = f
                .pointer("/Metadata/BuildProperties/Binary")
                .and_then(Value::as_str)
            else {
                continue;
            };
            let Some(Value::Object(events)) = f.pointer("/Properties/Events") else {
                continue;
            };
            for ev in events.values() {
                if ev.get("Type").and_then(Value::as_str) != Some("Api") {
                    continue;
                }
                let p = ev.get("Properties").cloned().unwrap_or(Value::Null);
                let (Some(path), Some(method)) = (
                    p.get("Path").and_then(Value::as_str),
                    p.get("Method").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let authorized = match p.pointer("/Auth/Authorizer").and_then(Value::as_str) {
                    Some("NONE") => false,
                    _ => default_authorizer.is_some(),
                };
                routes.push(ApiRoute {
                    method: method.to_ascii_uppercase(),
                    resource: path.to_owned(),
                    function: binary.to_owned(),
                    authorized,
                });
            }
        }
        Ok(ApiSettings {
            stage,
            reauthorize_every,
            identity_headers,
            gateway_responses,
            routes,
            cors,
        })
    }
}

/// SAM's `Cors` property as the preflight response headers it generates
/// (values are 'quoted' literals; a bare string is the allowed origin).
fn cors_headers(cors: Option<&Value>) -> Option<BTreeMap<String, String>> {
    let unquote = |v: &Value| {
        v.as_str()
            .map(|s| s.trim_matches('\'').to_owned())
            .or_else(|| v.as_u64().map(|n| n.to_string()))
    };
    let mut h = BTreeMap::new();
    match cors? {
        v @ Value::String(_) => {
            h.insert("Access-Control-Allow-Origin".to_owned(), unquote(v)?);
        }
        Value::Object(m) => {
            for (prop, header) in [
                ("AllowOrigin", "Access-Control-Allow-Origin"),
                ("AllowMethods", "Access-Control-Allow-Methods"),
                ("AllowHeaders", "Access-Control-Allow-Headers"),
                ("MaxAge", "Access-Control-Max-Age"),
            ] {
                if let Some(v) = m.get(prop).and_then(unquote) {
                    h.insert(header.to_owned(), v);
                }
            }
            if m.get("AllowCredentials").and_then(Value::as_bool) == Some(true) {
                h.insert(
                    "Access-Control-Allow-Credentials".to_owned(),
                    "true".to_owned(),
                );
            }
        }
        _ => return None,
    }
    Some(h)
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// YAML → JSON, with CloudFormation short-form tags turned into their long
/// form (`!Ref X` → `{"Ref": "X"}`, `!Sub s` → `{"Fn::Sub": s}`).
fn to_json(v: &serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                n.as_f64().map_or(Value::Null, |f| json!(f))
            }
        }
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(seq) => Value::Array(seq.iter().map(to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s.clone(),
                    other => serde_norway::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                };
                out.insert(key, to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let key = if name == "Ref" || name == "Condition" {
                name.to_owned()
            } else {
                format!("Fn::{name}")
            };
            json!({ key: to_json(&t.value) })
        }
    }
}

/// Resolves `Ref`s to parameters (and pseudo parameters) and `Fn::Sub`
/// strings over them; leaves every other intrinsic as it is.
fn resolve(v: &Value, params: &BTreeMap<String, Value>) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 => {
            if let Some(Value::String(name)) = m.get("Ref")
                && let Some(p) = params.get(name)
            {
                return p.clone();
            }
            if let Some(Value::String(s)) = m.get("Fn::Sub")
                && let Some(done) = substitute(s, params)
            {
                return Value::String(done);
            }
            Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), resolve(v, params)))
                    .collect(),
            )
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), resolve(v, params)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| resolve(v, params)).collect()),
        other => other.clone(),
    }
}

/// `${Name}` → the parameter's value; `None` when any name is not a parameter.
fn substitute(s: &str, params: &BTreeMap<String, Value>) -> Option<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let name = &after[..end];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(literal);
            out.push('}');
        } else {
            match params.get(name)? {
                Value::String(v) => out.push_str(v),
                other => out.push_str(&other.to_string()),
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PasswordPolicy {
    pub minimum_length: Option<i32>,
    pub require_lowercase: Option<bool>,
    pub require_uppercase: Option<bool>,
    pub require_numbers: Option<bool>,
    pub require_symbols: Option<bool>,
    pub temporary_password_validity_days: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserPoolPolicies {
    pub password_policy: Option<PasswordPolicy>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UsernameConfiguration {
    pub case_sensitive: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserPoolSettings {
    #[serde(default)]
    pub username_attributes: Vec<String>,
    #[serde(default)]
    pub auto_verified_attributes: Vec<String>,
    pub username_configuration: Option<UsernameConfiguration>,
    pub policies: Option<UserPoolPolicies>,
    /// `OFF`, `OPTIONAL` or `ON`.
    pub mfa_configuration: Option<String>,
}

impl UserPoolSettings {
    pub fn password_policy(&self) -> PasswordPolicy {
        self.policies
            .as_ref()
            .and_then(|p| p.password_policy.clone())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TokenValidityUnits {
    pub access_token: Option<String>,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AppClientSettings {
    pub generate_secret: Option<bool>,
    #[serde(default)]
    pub explicit_auth_flows: Vec<String>,
    pub prevent_user_existence_errors: Option<String>,
    pub enable_token_revocation: Option<bool>,
    pub access_token_validity: Option<i32>,
    pub id_token_validity: Option<i32>,
    pub refresh_token_validity: Option<i32>,
    pub token_validity_units: Option<TokenValidityUnits>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupSettings {
    pub group_name: String,
    pub description: Option<String>,
    pub precedence: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdentityPoolSettings {
    pub allow_unauthenticated_identities: Option<bool>,
    pub allow_classic_flow: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLive {
    pub attribute_name: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableSettings {
    pub key_schema: Vec<KeySchemaElement>,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub billing_mode: Option<String>,
    pub time_to_live_specification: Option<TimeToLive>,
}

/// One method on one resource of the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRoute {
    /// `GET`, `POST`, … or `ANY`.
    pub method: String,
    /// Resource path template, e.g. `/notes/{id}`.
    pub resource: String,
    /// Cargo binary (= function name under `cargo lambda watch`).
    pub function: String,
    /// Whether the request goes through the API's default authorizer.
    pub authorized: bool,
}

/// A gateway response override (`GatewayResponses.<TYPE>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayResponse {
    pub status: Option<u16>,
    pub headers: BTreeMap<String, String>,
    /// `application/json` response template.
    pub template: Option<String>,
}

impl GatewayResponse {
    fn from_template(v: &Value) -> Self {
        let status = v
            .get("StatusCode")
            .and_then(as_u64)
            .and_then(|s| u16::try_from(s).ok());
        let mut headers = BTreeMap::new();
        if let Some(Value::Object(hs)) = v.pointer("/ResponseParameters/Headers") {
            for (k, val) in hs {
                // Header values are mapping expressions: a literal is 'quoted'.
                if let Some(lit) = val
                    .as_str()
                    .and_then(|s| s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                {
                    headers.insert(k.clone(), lit.to_owned());
                }
            }
        }
        let template = v
            .pointer("/ResponseTemplates/application~1json")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Self {
            status,
            headers,
            template,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub stage: String,
    /// Authorizer result TTL in seconds (0: no caching).
    pub reauthorize_every: u64,
    /// Identity source headers (all must be present).
    pub identity_headers: Vec<String>,
    /// Gateway response overrides by response type (`UNAUTHORIZED`, …).
    pub gateway_responses: BTreeMap<String, GatewayResponse>,
    pub routes: Vec<ApiRoute>,
    /// Preflight (`OPTIONS`) response headers when the API has `Cors`.
    pub cors: Option<BTreeMap<String, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
Parameters:
  Stage: { Type: String, Default: dev }
  Ttl: { Type: Number, Default: 42 }
  Origin: { Type: String, Default: "http://localhost:3000" }
Globals:
  Function:
    Environment:
      Variables: { GLOBAL: g }
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: api-handler } }
    Properties:
      Environment:
        Variables:
          TABLE_NAME: !Ref Table
          LIMIT: !Ref Ttl
          RULES: >-
            [{"route":"GET /x"}]
      Events:
        Health:
          Type: Api
          Properties: { Path: /health, Method: get, Auth: { Authorizer: NONE } }
        Item:
          Type: Api
          Properties: { Path: "/items/{id}", Method: DELETE }
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      Auth:
        DefaultAuthorizer: A
        Authorizers:
          A:
            FunctionArn: !GetAtt Fn.Arn
            Identity: { Headers: [Authorization], ReauthorizeEvery: !Ref Ttl }
      Cors:
        AllowOrigin: !Sub "'${Origin}'"
        AllowHeaders: "'Authorization'"
        MaxAge: "'600'"
      GatewayResponses:
        UNAUTHORIZED:
          StatusCode: "401"
          ResponseParameters:
            Headers:
              Access-Control-Allow-Origin: !Sub "'${Origin}'"
              WWW-Authenticate: "'Bearer'"
              X-Dynamic: method.request.header.Foo
          ResponseTemplates:
            application/json: '{"error":"unauthorized"}'
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{ AttributeName: PK, KeyType: HASH }]
      AttributeDefinitions: [{ AttributeName: PK, AttributeType: S }]
      DeletionProtectionEnabled: !If [IsProd, true, false]
"#;

    #[test]
    fn resolves_parameter_defaults_and_keeps_other_intrinsics_out() {
        let t = Template::parse(SAMPLE, "eu-west-1").unwrap();
        let env = t.function_env("api-handler").unwrap();
        assert_eq!(env.get("LIMIT").map(String::as_str), Some("42"));
        assert_eq!(env.get("GLOBAL").map(String::as_str), Some("g"));
        assert_eq!(
            env.get("RULES").map(String::as_str),
            Some(r#"[{"route":"GET /x"}]"#)
        );
        // A Ref to a resource cannot be resolved offline: not returned.
        assert!(!env.contains_key("TABLE_NAME"));
        assert_eq!(
            t.function_env_names("api-handler").unwrap(),
            ["LIMIT", "RULES", "TABLE_NAME"]
        );
    }

    #[test]
    fn reads_routes_authorizer_ttl_and_gateway_responses() {
        let t = Template::parse(SAMPLE, "eu-west-1").unwrap();
        let api = t.api().unwrap();
        assert_eq!(api.stage, "dev");
        assert_eq!(api.reauthorize_every, 42);
        assert_eq!(api.identity_headers, ["Authorization"]);
        assert_eq!(
            api.routes,
            [
                ApiRoute {
                    method: "GET".into(),
                    resource: "/health".into(),
                    function: "api-handler".into(),
                    authorized: false
                },
                ApiRoute {
                    method: "DELETE".into(),
                    resource: "/items/{id}".into(),
                    function: "api-handler".into(),
                    authorized: true
                },
            ]
        );
        let cors = api.cors.as_ref().unwrap();
        assert_eq!(cors["Access-Control-Allow-Origin"], "http://localhost:3000");
        assert_eq!(cors["Access-Control-Allow-Headers"], "Authorization");
        assert_eq!(cors["Access-Control-Max-Age"], "600");
        let unauthorized = &api.gateway_responses["UNAUTHORIZED"];
        assert_eq!(unauthorized.status, Some(401));
        assert_eq!(
            unauthorized.headers["Access-Control-Allow-Origin"],
            "http://localhost:3000"
        );
        assert_eq!(unauthorized.headers["WWW-Authenticate"], "Bearer");
        assert!(!unauthorized.headers.contains_key("X-Dynamic"));
        assert_eq!(
            unauthorized.template.as_deref(),
            Some(r#"{"error":"unauthorized"}"#)
        );
    }

    #[test]
    fn missing_resources_are_named_in_the_error() {
        let t = Template::parse(SAMPLE, "eu-west-1").unwrap();
        let err = t.user_pool().unwrap_err().to_string();
        assert!(err.contains("AWS::Cognito::UserPool"), "{err}");
        assert_eq!(t.table().unwrap().key_schema[0].attribute_name, "PK");
    }

    #[test]
    fn substitution_needs_every_name_known() {
        let mut p = BTreeMap::new();
        p.insert("A".to_owned(), json!("x"));
        assert_eq!(
            substitute("a-${A}-${!Literal}", &p).as_deref(),
            Some("a-x-${Literal}")
        );
        assert_eq!(substitute("${Unknown}", &p), None);
    }
}
