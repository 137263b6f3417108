//! `directus_flows_mutated` and `directus_operations_mutated` over WebSocket
//! (`graphql-transport-ws`), authenticated like HTTP requests.

use std::time::Duration;

use e2e::{ADMIN_TOKEN, both};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use e2e::ws::{connect, next_json};

both!(flow_changes_are_pushed_after_commit, |app| async move {
    let addr = app.serve().await;
    let mut socket = connect(addr, json!({"access_token": ADMIN_TOKEN})).await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription { directus_flows_mutated { key event data { name status } } }"
            }})
            .to_string(),
        ))
        .await
        .expect("subscribe");
    // Give the subscription a moment to register before the write.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = "6f1f4c3e-5a7b-4c1d-9e2f-0a1b2c3d4e5f";
    app.gql_ok(
        "mutation($id: ID!) { create_flows_item(data: {id: $id, name: \"watched\"}) { id } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(
        next_json(&mut socket).await,
        json!({"id": "1", "type": "next", "payload": {"data": {"directus_flows_mutated": {
            "key": id, "event": "create", "data": {"name": "watched", "status": "active"}
        }}}})
    );
    app.gql_ok(
        "mutation($id: ID!) { delete_flows_item(id: $id) { id } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(
        next_json(&mut socket).await,
        json!({"id": "1", "type": "next", "payload": {"data": {"directus_flows_mutated": {
            "key": id, "event": "delete", "data": null
        }}}})
    );
});

both!(event_argument_filters_the_stream, |app| async move {
    let addr = app.serve().await;
    let mut socket = connect(
        addr,
        json!({"headers": {"Authorization": format!("Bearer {ADMIN_TOKEN}")}}),
    )
    .await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    socket
        .send(Message::text(
            json!({"id": "u", "type": "subscribe", "payload": {
                "query": "subscription { directus_flows_mutated(event: update) { key event } }"
            }})
            .to_string(),
        ))
        .await
        .expect("subscribe");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = "0d9c8b7a-6f5e-4d3c-8b2a-190817263544";
    app.gql_ok(
        "mutation($id: ID!) { create_flows_item(data: {id: $id, name: \"a\"}) { id } }",
        json!({"id": id}),
    )
    .await;
    app.gql_ok(
        "mutation($id: ID!) { update_flows_item(id: $id, data: {name: \"b\"}) { id } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(
        next_json(&mut socket).await,
        json!({"id": "u", "type": "next", "payload": {"data": {"directus_flows_mutated": {"key": id, "event": "update"}}}})
    );
});

both!(
    a_connection_without_admin_token_is_refused,
    |app| async move {
        let addr = app.serve().await;
        let mut socket = connect(addr, json!({"access_token": "wrong"})).await;
        // graphql-transport-ws closes the socket when connection_init is refused.
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match socket.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return true,
                    Some(Ok(Message::Text(text))) if text.contains("connection_ack") => {
                        return false;
                    }
                    _ => {}
                }
            }
        })
        .await
        .expect("an answer within 10 s");
        assert!(closed, "a wrong token must not be acknowledged");
    }
);
