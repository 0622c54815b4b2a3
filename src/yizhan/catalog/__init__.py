"""The service-item catalog (事项目录): items, versions, materials, fees."""
