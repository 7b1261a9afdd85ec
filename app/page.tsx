export default function Home() {
  return <main>Revenant</main>;
}
