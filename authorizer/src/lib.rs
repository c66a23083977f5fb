//! Placeholder: filled in by the authorizer work.
