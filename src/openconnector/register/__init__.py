"""OpenRegister: registers, schemas (JSON Schema) and the objects stored in them."""
