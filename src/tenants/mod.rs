//! The tenant registry: what a store is (`model`), where stores are kept (`repo`, the one
//! cross-tenant path into the database), and how they are created and changed (`service`).

pub mod file;
pub mod model;
pub mod repo;
pub mod service;
