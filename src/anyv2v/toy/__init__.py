"""A world with known answers: synthetic clips with exact edited twins, and a small I2V model trained on them."""
