export { startEmbeddedRedis } from "./embedded-redis.js";
export { RedisServerError, RedisServerNotFoundError, RedisServerStartStoppedError, StoragePathInUseError } from "./errors.js";
export { logPath, persistenceArgs, redisCommand, redisProcess } from "./redis-process.js";
export type { PersistenceOptions, RedisProcess, RedisProcessOptions } from "./redis-process.js";
