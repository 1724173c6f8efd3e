// Snowflake ids made the way Discord makes them (milliseconds since the Discord epoch in the high
// bits), so `createdAt` on the objects discord.js builds from the fake is a real time.
const DISCORD_EPOCH = 1_420_070_400_000n

export type NextId = () => string

export function snowflakes(): NextId {
  let increment = 0n
  return () => {
    increment = (increment + 1n) & 0xfffn
    return (((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | increment).toString()
  }
}
