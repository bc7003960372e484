//! The integration suite: real HTTP routes, a real PostgreSQL, fakes only for Telegram and Pakasir.

mod api;
mod catalog;
mod hosting;
mod isolation;
mod operations;
mod overload;
mod payments;
mod shop;
mod support;
