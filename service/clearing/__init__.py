"""Fund clearing (清算与对账): what each fund owes each hospital for the settlements it advanced."""
