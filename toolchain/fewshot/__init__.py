"""Few-shot keyword heads on the frozen embedding: enrol, extend, evaluate, visualise."""
