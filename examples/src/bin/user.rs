//! The user service: validation errors (INVALID_ARGUMENT), missing users
//! (NOT_FOUND), an `authorization` header (UNAUTHENTICATED without it) and a
//! deadline the handler honours.
//!
//! `cargo run -p rgrpc-examples --bin user`

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rgrpc::wkt::Timestamp;
use rgrpc::{Channel, Request, Response, Server, Status};
use rgrpc_examples::pb::user::v1::{
    CreateUserRequest, GetUserRequest, Role, User, UserService, UserServiceClient,
    UserServiceServer,
};

const TOKEN: &str = "Bearer demo-token";

/// Users in memory; ids are assigned in order.
#[derive(Default)]
struct Users {
    users: Mutex<HashMap<String, User>>,
}

fn authorize<T>(request: &Request<T>) -> Result<(), Status> {
    match request.metadata().get("authorization") {
        Some(TOKEN) => Ok(()),
        Some(_) => Err(Status::permission_denied("the token is not valid")),
        None => Err(Status::unauthenticated(
            "an authorization header is required",
        )),
    }
}

impl UserService for Users {
    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<User>, Status> {
        authorize(&request)?;
        // A slow lookup: it gives up when the caller's deadline leaves too little time.
        let lookup = Duration::from_millis(50);
        if request.remaining().is_some_and(|left| left < lookup) {
            return Err(Status::deadline_exceeded(
                "not enough time left for the lookup",
            ));
        }
        tokio::time::sleep(lookup).await;
        let id = &request.message().id;
        let users = self
            .users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match users.get(id) {
            Some(user) => Ok(Response::new(user.clone())),
            None => Err(Status::not_found(format!("user {id:?} not found"))),
        }
    }

    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<User>, Status> {
        authorize(&request)?;
        let create = request.message();
        if create.name.trim().is_empty() {
            return Err(Status::invalid_argument("name: must not be empty"));
        }
        if !create.email.contains('@') {
            return Err(Status::invalid_argument(format!(
                "email: {:?} is not an e-mail address",
                create.email
            )));
        }
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let user = User {
            id: (users.len() + 1).to_string(),
            name: create.name.clone(),
            email: create.email.clone(),
            role: create.role.unwrap_or(Role::MEMBER),
            created_at: Some(Timestamp::from(SystemTime::now())),
            ..Default::default()
        };
        users.insert(user.id.clone(), user.clone());
        Ok(Response::new(user))
    }
}

/// A request carrying the demo token.
fn authorized<T>(message: T) -> Result<Request<T>, Box<dyn std::error::Error>> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", TOKEN)?;
    Ok(request)
}

fn show<T: std::fmt::Debug>(what: &str, result: Result<Response<T>, Status>) {
    match result {
        Ok(response) => println!("{what}: {:?}", response.message()),
        Err(status) => println!("{what}: {status}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = Server::builder()
        .add_service(UserServiceServer::new(Users::default()))
        .build();
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
    let client = UserServiceClient::new(Channel::builder(&address.to_string())?.connect().await?);

    let ada = CreateUserRequest {
        name: "Ada".into(),
        email: "ada@example.com".into(),
        ..Default::default()
    };
    show(
        "create without a token",
        client.create_user(ada.clone()).await,
    );
    show("create Ada", client.create_user(authorized(ada)?).await);
    let nameless = CreateUserRequest {
        email: "x@example.com".into(),
        ..Default::default()
    };
    show(
        "create without a name",
        client.create_user(authorized(nameless)?).await,
    );
    let bad_email = CreateUserRequest {
        name: "Bob".into(),
        email: "bob".into(),
        ..Default::default()
    };
    show(
        "create with a bad e-mail",
        client.create_user(authorized(bad_email)?).await,
    );

    show(
        "get user 1",
        client
            .get_user(authorized(GetUserRequest {
                id: "1".into(),
                ..Default::default()
            })?)
            .await,
    );
    show(
        "get user 42",
        client
            .get_user(authorized(GetUserRequest {
                id: "42".into(),
                ..Default::default()
            })?)
            .await,
    );
    let hurried = authorized(GetUserRequest {
        id: "1".into(),
        ..Default::default()
    })?;
    show(
        "get user 1 within 10 ms",
        client
            .get_user(hurried)
            .timeout(Duration::from_millis(10))
            .await,
    );
    Ok(())
}
