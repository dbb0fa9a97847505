//! The rich error model: a user service whose errors carry the standard
//! `google.rpc` details (`rgrpc::rpc`) beside their code and message, and
//! a client that reads them.
//!
//! - INVALID_ARGUMENT with a `BadRequest` naming every bad field, each with
//!   a reason and a `LocalizedMessage` for the end user;
//! - NOT_FOUND with a `ResourceInfo` and an `ErrorInfo`;
//! - RESOURCE_EXHAUSTED with a `QuotaFailure`, a `RetryInfo` saying when to
//!   try again, and a `Help` link.
//!
//! `cargo run -p rgrpc-examples --bin rich_errors`

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rgrpc::rpc::{
    BadRequest, ErrorInfo, Help, LocalizedMessage, QuotaFailure, ResourceInfo, RetryInfo,
    bad_request, help, quota_failure,
};
use rgrpc::wkt::Any;
use rgrpc::{Channel, Code, Request, Response, Server, Status};
use rgrpc_examples::pb::user::v1::{
    CreateUserRequest, GetUserRequest, User, UserService, UserServiceClient, UserServiceServer,
};

/// Creations allowed before the quota runs out.
const QUOTA: u32 = 1;

#[derive(Default)]
struct Users {
    created: AtomicU32,
}

/// A field violation with a reason and a message for the end user.
fn violation(field: &str, reason: &str, description: &str) -> bad_request::FieldViolation {
    bad_request::FieldViolation {
        field: field.into(),
        description: description.into(),
        reason: reason.into(),
        localized_message: Some(LocalizedMessage {
            locale: "en-US".into(),
            message: format!("Please check the {field}."),
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl UserService for Users {
    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<User>, Status> {
        let id = request.into_message().id;
        let resource = ResourceInfo {
            resource_type: "user.v1.User".into(),
            resource_name: id.clone(),
            description: "no user has this id".into(),
            ..Default::default()
        };
        let info = ErrorInfo {
            reason: "USER_NOT_FOUND".into(),
            domain: "users.example.com".into(),
            metadata: [("id".to_owned(), id.clone())].into(),
            ..Default::default()
        };
        Err(Status::not_found(format!("user {id:?} not found"))
            .with_details([Any::pack(&resource), Any::pack(&info)]))
    }

    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<User>, Status> {
        let create = request.into_message();
        let mut violations = Vec::new();
        if create.name.trim().is_empty() {
            violations.push(violation("name", "EMPTY", "must not be empty"));
        }
        if !create.email.contains('@') {
            violations.push(violation("email", "NOT_AN_EMAIL", "must contain an @"));
        }
        if !violations.is_empty() {
            let details = BadRequest {
                field_violations: violations,
                ..Default::default()
            };
            return Err(Status::invalid_argument("the request has invalid fields")
                .with_details([Any::pack(&details)]));
        }
        if self.created.fetch_add(1, Ordering::SeqCst) >= QUOTA {
            let quota = QuotaFailure {
                violations: vec![quota_failure::Violation {
                    subject: "project:demo".into(),
                    description: format!("{QUOTA} user creation a minute"),
                    ..Default::default()
                }],
                ..Default::default()
            };
            let retry =
                RetryInfo {
                    retry_delay: Some(Duration::from_millis(1500).try_into().map_err(|_| {
                        Status::internal("the retry delay does not fit a Duration")
                    })?),
                    ..Default::default()
                };
            let help = Help {
                links: vec![help::Link {
                    description: "Quotas".into(),
                    url: "https://example.com/docs/quotas".into(),
                    ..Default::default()
                }],
                ..Default::default()
            };
            return Err(
                Status::resource_exhausted("the creation quota is spent").with_details([
                    Any::pack(&quota),
                    Any::pack(&retry),
                    Any::pack(&help),
                ]),
            );
        }
        Ok(Response::new(User {
            id: "1".into(),
            name: create.name,
            email: create.email,
            ..Default::default()
        }))
    }
}

/// Prints a status and every detail it carries that this client knows.
fn explain(what: &str, status: &Status) -> Result<(), Box<dyn std::error::Error>> {
    println!("{what}: {}: {}", status.code(), status.message());
    for detail in status.details()? {
        if let Some(bad) = detail.unpack::<BadRequest>()? {
            for v in bad.field_violations {
                let localized = v.localized_message.unwrap_or_default();
                println!(
                    "  bad field {}: {} ({}); for the user, in {}: {}",
                    v.field, v.description, v.reason, localized.locale, localized.message
                );
            }
        } else if let Some(resource) = detail.unpack::<ResourceInfo>()? {
            println!(
                "  resource {} {:?}: {}",
                resource.resource_type, resource.resource_name, resource.description
            );
        } else if let Some(info) = detail.unpack::<ErrorInfo>()? {
            println!(
                "  reason {} in {}, {:?}",
                info.reason, info.domain, info.metadata
            );
        } else if let Some(quota) = detail.unpack::<QuotaFailure>()? {
            for v in quota.violations {
                println!("  quota of {}: {}", v.subject, v.description);
            }
        } else if let Some(retry) = detail.unpack::<RetryInfo>()? {
            let delay = Duration::try_from(retry.retry_delay.unwrap_or_default())?;
            println!("  retry after {} ms", delay.as_millis());
        } else if let Some(help) = detail.unpack::<Help>()? {
            for link in help.links {
                println!("  help: {} <{}>", link.description, link.url);
            }
        } else {
            println!("  a detail of type {}", detail.type_url);
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .add_service(UserServiceServer::new(Users::default()))
        .build();
    let bound = server.bind("127.0.0.1:0").await?;
    let address = bound.local_addr()?;
    tokio::spawn(bound.serve());
    let client = UserServiceClient::new(Channel::builder(&address.to_string())?.connect().await?);

    let bad = CreateUserRequest {
        email: "bob".into(),
        ..Default::default()
    };
    let status = client.create_user(bad).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    explain("create with no name and a bad e-mail", &status)?;

    let status = client
        .get_user(GetUserRequest {
            id: "42".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    explain("get user 42", &status)?;

    let ada = CreateUserRequest {
        name: "Ada".into(),
        email: "ada@example.com".into(),
        ..Default::default()
    };
    let created = client.create_user(ada.clone()).await?;
    println!("create Ada: user {}", created.message().id);
    let status = client.create_user(ada).await.unwrap_err();
    explain("create Ada again", &status)?;
    Ok(())
}
