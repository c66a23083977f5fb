//! Shared fixtures of the fuzz targets. `api` serves the api-handler target;
//! `authz` the authorizer targets, through the authorizer's public API only.

pub mod api;
pub mod authz;

use std::sync::OnceLock;

/// One current-thread runtime for every input (the code under test does no
/// I/O here; its futures complete on the first polls).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
    .block_on(f)
}
