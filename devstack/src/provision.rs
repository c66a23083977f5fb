//! Creates in the local stand-in (moto) what `template.yaml` defines: user
//! pool, public app client, groups, identity pool and table — with the
//! template's own settings, through the real AWS SDK.
//!
//! Endpoint and credentials come from `aws-config`'s standard chain, so
//! `AWS_ENDPOINT_URL` (set by `scripts/with-moto.sh`) points it at moto.

use aws_sdk_cognitoidentityprovider::types as idp;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types as ddb;
use serde::{Deserialize, Serialize};

use crate::template::{Template, TemplateError};

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{step}: {detail}")]
    Aws { step: &'static str, detail: String },
}

fn aws<E: std::error::Error>(step: &'static str) -> impl FnOnce(E) -> ProvisionError {
    move |e| ProvisionError::Aws {
        step,
        detail: DisplayErrorContext(&e).to_string(),
    }
}

/// What was created: everything a client, the functions and the gateway
/// need to find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provisioned {
    pub region: String,
    pub user_pool_id: String,
    pub app_client_id: String,
    pub identity_pool_id: String,
    pub table_name: String,
    pub groups: Vec<String>,
}

impl Provisioned {
    /// The `iss` of this pool's tokens.
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            self.region, self.user_pool_id
        )
    }

    /// The identity pool's login key for this user pool.
    pub fn login_provider(&self) -> String {
        format!(
            "cognito-idp.{}.amazonaws.com/{}",
            self.region, self.user_pool_id
        )
    }
}

/// Provisions everything under names starting with `prefix` (unique per run
/// when several stacks share one moto).
pub async fn provision(
    config: &aws_config::SdkConfig,
    template: &Template,
    prefix: &str,
) -> Result<Provisioned, ProvisionError> {
    let region = config
        .region()
        .map_or_else(|| "us-east-1".to_owned(), ToString::to_string);
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(config);

    // --- user pool
    let pool = template.user_pool()?;
    let pw = pool.password_policy();
    let mut req = cognito
        .create_user_pool()
        .pool_name(format!("{prefix}-users"))
        .policies(
            idp::UserPoolPolicyType::builder()
                .password_policy(
                    idp::PasswordPolicyType::builder()
                        .set_minimum_length(pw.minimum_length)
                        .set_require_lowercase(pw.require_lowercase)
                        .set_require_uppercase(pw.require_uppercase)
                        .set_require_numbers(pw.require_numbers)
                        .set_require_symbols(pw.require_symbols)
                        .set_temporary_password_validity_days(pw.temporary_password_validity_days)
                        .build(),
                )
                .build(),
        );
    for a in &pool.username_attributes {
        req = req.username_attributes(idp::UsernameAttributeType::from(a.as_str()));
    }
    for a in &pool.auto_verified_attributes {
        req = req.auto_verified_attributes(idp::VerifiedAttributeType::from(a.as_str()));
    }
    if let Some(cs) = pool
        .username_configuration
        .as_ref()
        .and_then(|c| c.case_sensitive)
    {
        req = req.username_configuration(
            idp::UsernameConfigurationType::builder()
                .case_sensitive(cs)
                .build()
                .map_err(aws("username configuration"))?,
        );
    }
    let created = req.send().await.map_err(aws("CreateUserPool"))?;
    let user_pool_id = created
        .user_pool()
        .and_then(|p| p.id())
        .ok_or_else(|| ProvisionError::Aws {
            step: "CreateUserPool",
            detail: "no pool id in the answer".into(),
        })?
        .to_owned();

    // --- public app client
    let c = template.app_client()?;
    let units = c.token_validity_units.clone().unwrap_or_default();
    let mut req = cognito
        .create_user_pool_client()
        .user_pool_id(&user_pool_id)
        .client_name(format!("{prefix}-web"))
        .generate_secret(c.generate_secret.unwrap_or(false))
        .set_access_token_validity(c.access_token_validity)
        .set_id_token_validity(c.id_token_validity)
        .set_refresh_token_validity(c.refresh_token_validity)
        .set_enable_token_revocation(c.enable_token_revocation)
        .token_validity_units(
            idp::TokenValidityUnitsType::builder()
                .set_access_token(units.access_token.as_deref().map(idp::TimeUnitsType::from))
                .set_id_token(units.id_token.as_deref().map(idp::TimeUnitsType::from))
                .set_refresh_token(units.refresh_token.as_deref().map(idp::TimeUnitsType::from))
                .build(),
        );
    for f in &c.explicit_auth_flows {
        req = req.explicit_auth_flows(idp::ExplicitAuthFlowsType::from(f.as_str()));
    }
    if let Some(p) = &c.prevent_user_existence_errors {
        req = req
            .prevent_user_existence_errors(idp::PreventUserExistenceErrorTypes::from(p.as_str()));
    }
    let client = req.send().await.map_err(aws("CreateUserPoolClient"))?;
    let app_client_id = client
        .user_pool_client()
        .and_then(|c| c.client_id())
        .ok_or_else(|| ProvisionError::Aws {
            step: "CreateUserPoolClient",
            detail: "no client id in the answer".into(),
        })?
        .to_owned();

    // --- groups
    let mut groups = Vec::new();
    for g in template.groups()? {
        cognito
            .create_group()
            .user_pool_id(&user_pool_id)
            .group_name(&g.group_name)
            .set_description(g.description.clone())
            .set_precedence(g.precedence)
            .send()
            .await
            .map_err(aws("CreateGroup"))?;
        groups.push(g.group_name);
    }

    // --- identity pool (user pool + client as provider)
    let ip = template.identity_pool()?;
    let identity = aws_sdk_cognitoidentity::Client::new(config);
    let provider = aws_sdk_cognitoidentity::types::CognitoIdentityProvider::builder()
        .provider_name(format!("cognito-idp.{region}.amazonaws.com/{user_pool_id}"))
        .client_id(&app_client_id)
        .server_side_token_check(true)
        .build();
    let pool = identity
        .create_identity_pool()
        .identity_pool_name(format!("{}_identities", prefix.replace('-', "_")))
        .allow_unauthenticated_identities(ip.allow_unauthenticated_identities.unwrap_or(false))
        .set_allow_classic_flow(ip.allow_classic_flow)
        .cognito_identity_providers(provider)
        .send()
        .await
        .map_err(aws("CreateIdentityPool"))?;
    let identity_pool_id = pool.identity_pool_id().to_owned();

    // --- table
    let t = template.table()?;
    let table_name = format!("{prefix}-notes");
    let dynamo = aws_sdk_dynamodb::Client::new(config);
    let mut req =
        dynamo
            .create_table()
            .table_name(&table_name)
            .billing_mode(ddb::BillingMode::from(
                t.billing_mode.as_deref().unwrap_or("PAY_PER_REQUEST"),
            ));
    for k in &t.key_schema {
        req = req.key_schema(
            ddb::KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(ddb::KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(aws("key schema"))?,
        );
    }
    for a in &t.attribute_definitions {
        req = req.attribute_definitions(
            ddb::AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ddb::ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(aws("attribute definition"))?,
        );
    }
    req.send().await.map_err(aws("CreateTable"))?;
    if let Some(ttl) = &t.time_to_live_specification {
        dynamo
            .update_time_to_live()
            .table_name(&table_name)
            .time_to_live_specification(
                ddb::TimeToLiveSpecification::builder()
                    .attribute_name(&ttl.attribute_name)
                    .enabled(ttl.enabled)
                    .build()
                    .map_err(aws("TTL"))?,
            )
            .send()
            .await
            .map_err(aws("UpdateTimeToLive"))?;
    }

    Ok(Provisioned {
        region,
        user_pool_id,
        app_client_id,
        identity_pool_id,
        table_name,
        groups,
    })
}
