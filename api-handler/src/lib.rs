//! Placeholder: filled in by the api-handler work.
