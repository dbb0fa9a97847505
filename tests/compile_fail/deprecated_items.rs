// What a .proto file deprecates warns its users, here made errors: the
// message, the field, the oneof member, the enum value, the service and the
// method. What it does not deprecate is used without a word.
#![deny(deprecated)]

use rgrpc_tests::pb::coverage::deprecated::{Mode, OldReplierClient, OldRequest, Reply, ReplierClient, reply};

async fn call(client: ReplierClient, old: OldReplierClient) {
    let _ = client.answer(Reply::default()).await;
    let _ = client.answer_old(OldRequest::default()).await;
    let _ = old.answer(Reply::default()).await;
}

fn main() {
    let reply = Reply { old_text: "old".into(), ..Default::default() };
    let _ = (reply, Mode::OLD, Mode::NEW, reply::Choice::Number(1), call);
}
