//! Asking a server for descriptors: one reflection stream, over v1, or over
//! v1alpha for servers (such as grpcio's) that have no other.

use rgrpc::client::BidiStreamingCall;
use rgrpc::reflection::v1::server_reflection_request::MessageRequest;
use rgrpc::reflection::v1::server_reflection_response::MessageResponse;
use rgrpc::reflection::{v1, v1alpha};
use rgrpc::wkt::FileDescriptorProto;
use rgrpc::{Channel, Code, Message, Status};

/// The stream of one version of the service.
enum Stream {
    V1(BidiStreamingCall<v1::ServerReflectionRequest, v1::ServerReflectionResponse>),
    V1Alpha(BidiStreamingCall<v1alpha::ServerReflectionRequest, v1alpha::ServerReflectionResponse>),
}

/// A reflection stream to one server.
pub struct Reflector {
    channel: Channel,
    stream: Option<Stream>,
}

/// Why a question got no answer.
#[derive(Debug)]
pub enum Failure {
    /// The server answered with an error response.
    Answered(Code, String),
    /// The call failed.
    Call(Status),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Answered(code, message) => write!(f, "{message} ({code})"),
            Failure::Call(status) if status.code() == Code::Unimplemented => {
                write!(f, "the server does not support reflection ({status})")
            }
            Failure::Call(status) => write!(f, "reflection failed: {status}"),
        }
    }
}

impl From<Status> for Failure {
    fn from(status: Status) -> Self {
        Failure::Call(status)
    }
}

impl Reflector {
    /// A reflector over `channel`; the stream opens with the first question.
    pub fn new(channel: Channel) -> Self {
        Reflector {
            channel,
            stream: None,
        }
    }

    /// Sends `request` and reads its answer, opening the stream first
    /// (v1, then v1alpha when the server does not know v1).
    async fn ask(&mut self, request: MessageRequest) -> Result<MessageResponse, Failure> {
        let request = v1::ServerReflectionRequest {
            message_request: Some(request),
            ..Default::default()
        };
        let response = match self.stream.take() {
            Some(stream) => self.exchange(stream, &request).await?,
            None => {
                let client = v1::ServerReflectionClient::new(self.channel.clone());
                let v1 = Stream::V1(client.server_reflection_info().await?);
                match self.exchange(v1, &request).await {
                    Err(Failure::Call(status)) if status.code() == Code::Unimplemented => {
                        let client = v1alpha::ServerReflectionClient::new(self.channel.clone());
                        let alpha = Stream::V1Alpha(client.server_reflection_info().await?);
                        self.exchange(alpha, &request).await?
                    }
                    answered => answered?,
                }
            }
        };
        match response.message_response {
            Some(MessageResponse::ErrorResponse(error)) => Err(Failure::Answered(
                Code::from_i32(error.error_code),
                error.error_message,
            )),
            Some(answer) => Ok(answer),
            None => Err(Failure::Call(Status::internal(
                "the server sent a reflection response with no answer",
            ))),
        }
    }

    /// One request and its response on `stream`, which is kept for the next.
    async fn exchange(
        &mut self,
        mut stream: Stream,
        request: &v1::ServerReflectionRequest,
    ) -> Result<v1::ServerReflectionResponse, Failure> {
        let response = match &mut stream {
            Stream::V1(call) => {
                call.send(request).await?;
                call.recv().await?
            }
            Stream::V1Alpha(call) => {
                call.send(&request.clone().into()).await?;
                call.recv().await?.map(Into::into)
            }
        };
        self.stream = Some(stream);
        response.ok_or_else(|| {
            Failure::Call(Status::internal(
                "the server ended the reflection stream without answering",
            ))
        })
    }

    /// The names of the server's services.
    pub async fn services(&mut self) -> Result<Vec<String>, Failure> {
        match self
            .ask(MessageRequest::ListServices(String::new()))
            .await?
        {
            MessageResponse::ListServicesResponse(list) => {
                Ok(list.service.into_iter().map(|s| s.name).collect())
            }
            other => Err(unexpected(&other)),
        }
    }

    /// The file declaring `symbol` and the files it imports.
    pub async fn file_containing(
        &mut self,
        symbol: &str,
    ) -> Result<Vec<FileDescriptorProto>, Failure> {
        let answer = self
            .ask(MessageRequest::FileContainingSymbol(symbol.to_owned()))
            .await?;
        files(answer)
    }

    /// The file named `name` and the files it imports.
    pub async fn file_by_name(&mut self, name: &str) -> Result<Vec<FileDescriptorProto>, Failure> {
        files(
            self.ask(MessageRequest::FileByFilename(name.to_owned()))
                .await?,
        )
    }
}

fn files(answer: MessageResponse) -> Result<Vec<FileDescriptorProto>, Failure> {
    match answer {
        MessageResponse::FileDescriptorResponse(files) => files
            .file_descriptor_proto
            .iter()
            .map(|file| {
                FileDescriptorProto::decode(file).map_err(|err| {
                    Failure::Call(Status::internal(format!(
                        "the server sent a file descriptor that does not decode: {err}"
                    )))
                })
            })
            .collect(),
        other => Err(unexpected(&other)),
    }
}

fn unexpected(answer: &MessageResponse) -> Failure {
    Failure::Call(Status::internal(format!(
        "the server answered another question: {answer:?}"
    )))
}
