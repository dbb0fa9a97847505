//! Services: the server trait (methods default to UNIMPLEMENTED), its Unsafe
//! variant (no defaults), the server that registers an implementation, the
//! client, and the name and path constants.

use proc_macro2::TokenStream;
use quote::quote;

use super::Ctx;
use super::docs::{deprecated, doc};
use crate::model::{Method, RpcKind, Service};
use crate::names::ident;
use crate::options::Services;

/// What one method looks like on the traits, the server and the client.
struct Fragments {
    /// The server-side parameters after `&self`.
    params: TokenStream,
    /// The names of those parameters, to pass them on.
    args: TokenStream,
    /// The same names as one expression, to discard them.
    unused: TokenStream,
    /// What a handler returns on success.
    output: TokenStream,
    /// The registration (server) and call (client) function for the shape,
    /// in `__codegen`.
    shape: proc_macro2::Ident,
    /// The client method's parameter, if any.
    client_param: TokenStream,
    /// The argument the client method passes on, if any, with its comma.
    client_argument: TokenStream,
    /// The call the client method returns.
    client_call: TokenStream,
}

fn fragments(ctx: &Ctx<'_>, method: &Method) -> Fragments {
    let input = ctx.path(&method.input);
    let output = ctx.path(&method.output);
    let request = quote!(::rgrpc::Request<#input>);
    let requests = quote!(::rgrpc::server::RequestStream<#input>);
    let responses = quote!(::rgrpc::server::ResponseSink<#output>);
    let response = quote!(::rgrpc::Response<#output>);
    let single = quote!(request: impl ::core::convert::Into<::rgrpc::Request<#input>>);
    let (params, args, handler_output, shape, client_shape) = match method.kind {
        RpcKind::Unary => (
            quote!(request: #request),
            quote!(request),
            response,
            "unary",
            quote!(Unary),
        ),
        RpcKind::ServerStreaming => (
            quote!(request: #request, responses: #responses),
            quote!(request, responses),
            quote!(()),
            "server_streaming",
            quote!(ServerStreaming),
        ),
        RpcKind::ClientStreaming => (
            quote!(requests: #requests),
            quote!(requests),
            response,
            "client_streaming",
            quote!(ClientStreaming),
        ),
        RpcKind::Bidi => (
            quote!(requests: #requests, responses: #responses),
            quote!(requests, responses),
            quote!(()),
            "bidi_streaming",
            quote!(BidiStreaming),
        ),
    };
    // Streaming requests are sent on the call: the method takes none.
    let (client_param, client_argument) = match method.kind {
        RpcKind::Unary | RpcKind::ServerStreaming => (single, quote!(, request.into())),
        RpcKind::ClientStreaming | RpcKind::Bidi => (TokenStream::new(), TokenStream::new()),
    };
    let client_call =
        quote!(::rgrpc::client::Call<'_, ::rgrpc::client::#client_shape<#input, #output>>);
    let unused = match method.kind {
        RpcKind::Unary | RpcKind::ClientStreaming => args.clone(),
        RpcKind::ServerStreaming | RpcKind::Bidi => quote!((#args)),
    };
    Fragments {
        params,
        args,
        unused,
        output: handler_output,
        shape: proc_macro2::Ident::new(shape, proc_macro2::Span::call_site()),
        client_param,
        client_argument,
        client_call,
    }
}

/// What is generated for `service`: the sides `sides` asks for, and the name
/// and path constants with either.
pub fn service(
    ctx: &Ctx<'_>,
    service: &Service,
    sides: Services,
    file_descriptor: Option<&str>,
) -> TokenStream {
    if sides == Services::None {
        return TokenStream::new();
    }
    let names = &service.names;
    let full_name = &service.full_name;
    let service_trait = ident(&names.service_trait);
    let unsafe_trait = ident(&names.unsafe_trait);
    let server = ident(&names.server);
    let client = ident(&names.client);
    let constants = ident(&names.constants);
    let methods: Vec<(&Method, Fragments)> = service
        .methods
        .iter()
        .map(|m| (m, fragments(ctx, m)))
        .collect();

    let file_descriptor = file_descriptor.map(|name| {
        let name = ident(name);
        quote!(const FILE_DESCRIPTOR: ::core::option::Option<&'static ::rgrpc::FileDescriptor> = ::core::option::Option::Some(&#name);)
    });

    let service_doc = doc(&service.doc, || format!("The `{full_name}` service."));
    let defaults_doc = format!(
        " Methods left out answer UNIMPLEMENTED, so adding a method to the service does not break \
         implementations. Implement [`{}`] instead to have the compiler require every method.",
        names.unsafe_trait
    );
    let unsafe_doc = format!(
        " [`{}`] without default methods: an implementation that misses a method does not compile. \
         Every implementation of it is an implementation of [`{}`].",
        names.service_trait, names.service_trait
    );

    let future = |output: &TokenStream| quote!(impl ::core::future::Future<Output = ::core::result::Result<#output, ::rgrpc::Status>> + ::core::marker::Send);
    // The docs of a method's declarations, with its deprecation.
    let method_doc = |method: &Method| {
        let docs = doc(&method.doc, || {
            format!("`{}` ({}).", method.proto_name, method.path)
        });
        let deprecated = deprecated(method.deprecated);
        quote!(#docs #deprecated)
    };
    let service_deprecated = deprecated(service.deprecated);

    let trait_methods = methods.iter().map(|(method, f)| {
        let docs = method_doc(method);
        let name = ident(&method.name);
        let Fragments {
            params,
            unused,
            output,
            ..
        } = f;
        let future = future(output);
        let message = format!("method {} not implemented", method.proto_name);
        quote! {
            #docs
            fn #name(&self, #params) -> #future {
                let _ = #unused;
                async { ::core::result::Result::Err(::rgrpc::Status::unimplemented(#message)) }
            }
        }
    });
    let unsafe_methods = methods.iter().map(|(method, f)| {
        let docs = method_doc(method);
        let name = ident(&method.name);
        let Fragments { params, output, .. } = f;
        let future = future(output);
        quote!(#docs fn #name(&self, #params) -> #future;)
    });
    let forwards = methods.iter().map(|(method, f)| {
        let name = ident(&method.name);
        let Fragments {
            params,
            args,
            output,
            ..
        } = f;
        let future = future(output);
        quote! {
            fn #name(&self, #params) -> #future {
                #unsafe_trait::#name(self, #args)
            }
        }
    });
    let routes = methods.iter().map(|(method, f)| {
        let name = ident(&method.name);
        let constant = ident(&method.constant);
        let Fragments { args, shape, .. } = f;
        quote! {
            ::rgrpc::__codegen::server::#shape(routes, #constants::#constant, &service, |service, #args| async move {
                #service_trait::#name(&*service, #args).await
            });
        }
    });
    let client_methods = methods.iter().map(|(method, f)| {
        let docs = method_doc(method);
        let name = ident(&method.name);
        let constant = ident(&method.constant);
        let Fragments {
            client_param,
            client_argument,
            client_call,
            shape,
            ..
        } = f;
        quote! {
            #docs
            pub fn #name(&self, #client_param) -> #client_call {
                ::rgrpc::__codegen::client::#shape(&self.channel, #constants::#constant #client_argument)
            }
        }
    });
    let path_constants = methods.iter().map(|(method, _)| {
        let constant = ident(&method.constant);
        let path = &method.path;
        let docs = format!(" The path of `{}`.", method.proto_name);
        quote!(#[doc = #docs] pub const #constant: &str = #path;)
    });

    let register = if methods.is_empty() {
        quote!(let _ = (self, routes);)
    } else {
        quote! {
            let service = ::std::sync::Arc::new(self.implementation);
            #(#routes)*
        }
    };
    let constants_doc = format!(" The name of `{full_name}` and the paths of its methods.");
    let name_doc = format!(" `{full_name}`.");
    let server_doc = format!(
        " Serves an implementation of [`{}`]: `rgrpc::Server::builder().add_service({}::new(implementation))`.",
        names.service_trait, names.server
    );
    let client_doc = format!(" A client for the `{full_name}` service.");
    let server_side = quote! {
        #service_doc
        #[doc = ""]
        #[doc = #defaults_doc]
        #service_deprecated
        pub trait #service_trait: ::core::marker::Send + ::core::marker::Sync + 'static {
            #(#trait_methods)*
        }

        #[doc = #unsafe_doc]
        #service_deprecated
        pub trait #unsafe_trait: ::core::marker::Send + ::core::marker::Sync + 'static {
            #(#unsafe_methods)*
        }

        impl<T: #unsafe_trait> #service_trait for T {
            #(#forwards)*
        }

        #[doc = #server_doc]
        #service_deprecated
        pub struct #server<T> {
            implementation: T,
        }

        impl<T: #service_trait> #server<T> {
            /// Wraps `implementation` for [`rgrpc::Server`].
            pub fn new(implementation: T) -> Self {
                Self { implementation }
            }
        }

        impl<T: #service_trait> ::rgrpc::Service for #server<T> {
            const NAME: &'static str = #constants::NAME;
            #file_descriptor

            fn register(self, routes: &mut ::rgrpc::__codegen::server::Routes) {
                #register
            }
        }
    };
    let client_side = quote! {
        #[doc = #client_doc]
        #service_deprecated
        #[derive(Clone)]
        pub struct #client {
            channel: ::rgrpc::Channel,
        }

        impl #client {
            /// A client making its calls on `channel`.
            pub fn new(channel: ::rgrpc::Channel) -> Self {
                Self { channel }
            }

            /// The channel the calls are made on.
            pub fn channel(&self) -> &::rgrpc::Channel {
                &self.channel
            }

            #(#client_methods)*
        }
    };
    let server_side = sides.server().then_some(server_side);
    let client_side = sides.client().then_some(client_side);
    quote! {
        #[doc = #constants_doc]
        pub mod #constants {
            #[doc = #name_doc]
            pub const NAME: &str = #full_name;
            #(#path_constants)*
        }

        #server_side
        #client_side
    }
}
