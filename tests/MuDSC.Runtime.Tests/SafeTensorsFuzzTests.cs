using System.Buffers.Binary;
using System.Text;
using MuDSC.IO;

namespace MuDSC.Tests;

/// <summary>
/// Mutates real files (from PyTorch) and requires that every read either succeeds or fails with
/// <see cref="SafeTensorsException"/>: no other exception, no crash, no hang.
/// </summary>
public class SafeTensorsFuzzTests
{
    private const int Cases = 400;

    [Test]
    public void MutatedFilesFailOnlyWithSafeTensorsException()
    {
        var originals = new[] { Fixtures.PyTorchSamples, Fixtures.PyTorchResNet20 }.Select(File.ReadAllBytes).ToArray();
        var random = new Random(1234);
        string dir = Fixtures.TempDirectory();
        int failures = 0, successes = 0;
        var unexpected = new List<string>();

        for (int i = 0; i < Cases; i++)
        {
            byte[] original = originals[i % originals.Length];
            var (mutated, how) = Mutate(original, random);
            string path = Path.Combine(dir, $"case{i}.safetensors");
            File.WriteAllBytes(path, mutated);
            try
            {
                SafeTensorsFile.Read(path).Dispose();
                successes++;
            }
            catch (SafeTensorsException e)
            {
                failures++;
                if (!e.Message.StartsWith(path, StringComparison.Ordinal)) unexpected.Add($"{how}: message lacks path: {e.Message}");
            }
            catch (Exception e)
            {
                unexpected.Add($"{how}: {e.GetType().Name}: {e.Message}");
            }
            File.Delete(path);
        }

        Assert.That(unexpected, Is.Empty);
        Assert.That(failures, Is.GreaterThan(Cases / 2), "most mutations must be detected");
        TestContext.Out.WriteLine($"{failures} rejected, {successes} still valid (e.g. flips inside tensor data)");
    }

    private static (byte[] Bytes, string How) Mutate(byte[] original, Random random)
    {
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        var bytes = (byte[])original.Clone();
        switch (random.Next(6))
        {
            case 0:
                int length = random.Next(bytes.Length);
                return (bytes[..length], $"truncate to {length}");
            case 1:
                int at = random.Next(headerEnd);
                bytes[at] ^= (byte)(1 << random.Next(8));
                return (bytes, $"flip bit in header at {at}");
            case 2:
                int anywhere = random.Next(bytes.Length);
                bytes[anywhere] ^= (byte)(1 << random.Next(8));
                return (bytes, $"flip bit at {anywhere}");
            case 3:
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)random.NextInt64());
                return (bytes, "random header length");
            case 4:
                return (EditHeader(original, headerEnd, random), "header edit");
            default:
                var extended = new byte[bytes.Length + 1 + random.Next(16)];
                bytes.CopyTo(extended, 0);
                return (extended, "trailing bytes");
        }
    }

    /// <summary>Replaces one number or dtype in the JSON header, keeping it a valid length.</summary>
    private static byte[] EditHeader(byte[] original, int headerEnd, Random random)
    {
        string header = Encoding.UTF8.GetString(original, 8, headerEnd - 8);
        string[] replacements = ["\"F16\"", "\"I64\"", "\"X9\"", "0", "1", "-1", "99999999999", "[]", "null", "\"\"", "{}"];
        var tokens = System.Text.RegularExpressions.Regex.Matches(header, "\"[A-Z0-9]+\"|\\d+");
        var target = tokens[random.Next(tokens.Count)];
        string edited = header[..target.Index] + replacements[random.Next(replacements.Length)] + header[(target.Index + target.Length)..];
        byte[] json = Encoding.UTF8.GetBytes(edited);
        var result = new byte[8 + json.Length + original.Length - headerEnd];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)json.Length);
        json.CopyTo(result, 8);
        original.AsSpan(headerEnd).CopyTo(result.AsSpan(8 + json.Length));
        return result;
    }
}
