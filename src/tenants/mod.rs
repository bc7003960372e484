//! The tenant registry: what a store is (`model`), where stores are kept (`repo`, the one
//! cross-tenant path into the database), and how they are created and changed (`service`);
//! `admin`: what a store's owner and admins change of it from the bot (settings, admins).

pub mod admin;
pub mod file;
pub mod model;
pub mod repo;
pub mod service;
