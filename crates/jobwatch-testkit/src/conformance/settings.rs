//! Conformance check of a store's settings: a key is written once, the first value wins.

use jobwatch_store::Store;

pub async fn settings_are_written_once<S: Store>(store: S) {
    assert_eq!(store.get_setting("ping_key_hash").await.expect("get"), None);
    assert_eq!(
        store
            .init_setting("ping_key_hash", "first")
            .await
            .expect("init"),
        "first"
    );
    assert_eq!(
        store
            .init_setting("ping_key_hash", "second")
            .await
            .expect("init"),
        "first",
        "existing value wins"
    );
    assert_eq!(
        store
            .get_setting("ping_key_hash")
            .await
            .expect("get")
            .as_deref(),
        Some("first")
    );
}
